"""make composer-deploy: the printed gcloud commands (nothing here contacts Google)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from devtools import composer
from devtools.composer import BUCKET, ComposerTarget, composer_requirements, deploy_commands, render_script

WHEEL = Path("dist/gemini_qa_tuning-1.2.3-py3-none-any.whl")


def commands(target: ComposerTarget) -> list[composer.Command]:
    return deploy_commands(target, WHEEL, Path("dist/composer-requirements.txt"), Path("dags"), Path("plugins"))


def test_printed_script_installs_the_wheel_and_pins_copies_the_folders_and_sets_the_connection() -> None:
    target = ComposerTarget(environment="qa-env", location="europe-west4", project="my-proj")
    script = render_script(target, commands(target))
    lines = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert lines == [
        'BUCKET="$(gcloud composer environments describe qa-env --location europe-west4 --project my-proj '
        "'--format=value(config.dagGcsPrefix)')\"",
        'BUCKET="${BUCKET%/dags}"',
        "gcloud storage cp dist/gemini_qa_tuning-1.2.3-py3-none-any.whl "
        '"${BUCKET}/data/wheels/gemini_qa_tuning-1.2.3-py3-none-any.whl"',
        "gcloud composer environments update qa-env --location europe-west4 --project my-proj "
        "--update-pypi-packages-from-file dist/composer-requirements.txt",
        "gcloud storage rsync --recursive '--exclude=.*__pycache__.*' dags \"${BUCKET}/dags\"",
        "gcloud storage rsync --recursive '--exclude=.*__pycache__.*' plugins \"${BUCKET}/plugins\"",
        "gcloud composer environments run qa-env --location europe-west4 --project my-proj connections add -- "
        "gemini_qa_tuning --conn-type google_cloud_platform --conn-extra "
        '\'{"location": "europe-west4", "project": "my-proj"}\'',
    ]
    assert "airflow-connections-gemini_qa_tuning" in script  # the Secret Manager alternative
    for line in lines[2:]:  # every command is one valid shell line
        assert shlex.split(line)[0] == "gcloud"


def test_without_project_gcloud_uses_its_own_and_vertex_region_can_differ() -> None:
    target = ComposerTarget(environment="e", location="us-east1", vertex_location="us-central1", connection_id="v")
    connection = commands(target)[-1].argv
    assert "--project" not in connection
    extra = json.loads(connection[connection.index("--conn-extra") + 1])
    assert extra == {"project": "YOUR_PROJECT", "location": "us-central1"}
    assert connection[connection.index("--") + 1] == "v"


def test_run_mode_fills_in_the_bucket() -> None:
    upload = commands(ComposerTarget(environment="e", location="l"))[0]
    assert upload.with_bucket("gs://us-l-e-123-bucket").argv[-1] == (
        "gs://us-l-e-123-bucket/data/wheels/gemini_qa_tuning-1.2.3-py3-none-any.whl"
    )
    assert BUCKET in upload.argv[-1]


def test_requirements_file_lists_the_pins_and_the_wheel_but_not_airflow() -> None:
    pins = composer.runtime_pins(Path("requirements.txt").read_text(encoding="utf-8"))
    text = composer_requirements(pins, WHEEL.name)
    assert "apache-airflow-providers-google==" in text and not any(
        line.startswith("apache-airflow==") for line in text.splitlines()
    )
    assert text.splitlines()[-1] == (
        "gemini-qa-tuning @ file:///home/airflow/gcs/data/wheels/gemini_qa_tuning-1.2.3-py3-none-any.whl"
    )


def test_environment_and_location_are_required() -> None:
    with pytest.raises(ValueError, match=r"environment is required \(make composer-deploy ENV=… LOCATION=…\)"):
        ComposerTarget(environment="", location="l")


def test_main_prints_and_writes_the_requirements_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gemini_qa_tuning import __version__

    wheel = tmp_path / f"gemini_qa_tuning-{__version__}-py3-none-any.whl"
    wheel.write_bytes(b"")
    monkeypatch.setattr(composer.subprocess, "run", lambda *args, **kwargs: pytest.fail("print mode runs nothing"))
    assert composer.main(["--environment", "e", "--location", "l", "--dist", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"gcloud storage cp {wheel}" in printed
    assert (tmp_path / "composer-requirements.txt").read_text(encoding="utf-8").endswith(f"/{wheel.name}\n")
