"""The wheel that Cloud Composer installs registers the provider: its entry point resolves from the wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gemini_qa_tuning import __version__, provider

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Written out, not read from the provider module: the installed wheel must list exactly these.
ARTIFACT_LINK_NAMES = ("DatasetFolderLink", "MetricsLink", "TunedModelLink", "EndpointLink", "RunReportLink")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``make wheel`` builds, built from a copy of the sources (the checkout stays clean)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    shutil.copy(REPO_ROOT / "README.md", source)
    shutil.copytree(
        REPO_ROOT / "include", source / "include", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path_factory.mktemp("dist")
    # The command of `make wheel` (build isolation fetches setuptools through pip, usually from its cache).
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out]
    result = subprocess.run([*map(str, command), str(source)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("gemini_qa_tuning-*.whl")
    return built


def test_wheel_declares_the_provider_entry_point(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        text = archive.read(entry_points).decode()
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        version_lines = [line for line in archive.read(metadata).decode().splitlines() if line.startswith("Version:")]
    assert "[apache_airflow_provider]\nprovider_info = gemini_qa_tuning.provider:get_provider_info" in text
    assert version_lines == [f"Version: {__version__}"]
    module_files = {*provider.TRIGGER_MODULES, provider.LINK_CLASS.rpartition(".")[0], "gemini_qa_tuning.provider"}
    assert {module.replace(".", "/") + ".py" for module in module_files} <= set(names)


def test_entry_point_of_the_installed_wheel_lists_the_link_and_the_trigger(wheel: Path, tmp_path: Path) -> None:
    """Unpacked into a target directory (what ``pip install --target`` does), resolved by importlib.metadata."""
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    code = """
import importlib.metadata, json, sys
(dist,) = importlib.metadata.distributions(path=[sys.argv[1]])
(entry_point,) = dist.entry_points.select(group="apache_airflow_provider")
info = entry_point.load()()
import gemini_qa_tuning
print(json.dumps({"info": info, "package_file": gemini_qa_tuning.__file__, "name": dist.metadata["Name"]}))
"""
    # PYTHONPATH puts the unpacked wheel ahead of the editable checkout, so the wheel's code is what runs.
    result = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert Path(loaded["package_file"]).is_relative_to(target)
    assert loaded["name"].replace("_", "-") == loaded["info"]["package-name"] == "gemini-qa-tuning"
    assert loaded["info"]["extra-links"] == [
        "gemini_qa_tuning.links.vertex_ai.VertexTuningJobLink",
        *(f"gemini_qa_tuning.links.artifacts.{name}" for name in ARTIFACT_LINK_NAMES),
    ]
    assert [module for entry in loaded["info"]["triggers"] for module in entry["python-modules"]] == [
        "gemini_qa_tuning.triggers.tuning",
        "gemini_qa_tuning.triggers.batch",
    ]
    assert loaded["info"]["versions"] == [__version__]


def test_wheel_ships_the_run_report_template_and_declares_its_libraries(wheel: Path) -> None:
    """The report's Jinja2 template is package data: without it the last task of every run fails."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        requirements = [
            line for line in archive.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")
        ]
    assert "gemini_qa_tuning/reporting/templates/run_report.html.j2" in names
    assert any(line.startswith("Requires-Dist: Jinja2") for line in requirements), requirements
    assert any(line.startswith("Requires-Dist: pygal") for line in requirements), requirements
