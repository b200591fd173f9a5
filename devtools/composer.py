"""The commands that deploy this pipeline to a Cloud Composer 3 environment (``make composer-deploy``).

By default the commands are printed, as a shell script to read and run; ``--run`` (``RUN=1``) runs them.
What they do, each step after the Google page it follows:

1. Find the environment's bucket: ``gcloud composer environments describe … --format=value(config.dagGcsPrefix)``
   (the DAGs folder ``gs://BUCKET/dags``; https://cloud.google.com/composer/docs/composer-3/manage-dags).
2. Upload the library wheel (``make wheel``) to the bucket's ``data/wheels/`` folder
   (``gcloud storage cp``), which Composer mounts at ``/home/airflow/gcs/data`` on its workers.
3. Install the wheel and the pins of ``requirements.txt`` as the environment's PyPI packages:
   ``gcloud composer environments update … --update-pypi-packages-from-file FILE``
   (https://cloud.google.com/composer/docs/composer-3/install-python-dependencies). The file is written
   here: the pins, plus the wheel as a PEP 508 direct reference to its mounted path. Airflow itself is not
   listed: Composer provides it. Composer builds a new image and keeps the old packages when the
   installation fails.
4. Copy the contents of ``dags/`` and ``plugins/`` into the bucket's folders of those names (``gcloud
   storage rsync --recursive``, without deleting what else is there; Composer syncs the bucket to its
   components: https://cloud.google.com/composer/docs/composer-3/install-plugins). Composer 3 syncs
   ``plugins/`` to neither the scheduler nor the triggerer, which is why the hook, trigger and link come
   from the wheel.
5. Create the Vertex AI connection the DAG's ``gcp_conn_id`` Param names:
   ``gcloud composer environments run … connections add -- ID --conn-type google_cloud_platform
   --conn-extra {"project": …, "location": …}``. It holds no key: tasks use the environment's service
   account. With Secret Manager as the secrets backend, store the same connection as the secret
   ``airflow-connections-ID`` instead (printed as a note).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUCKET",
    "DEFAULT_CONNECTION_ID",
    "WHEEL_FOLDER",
    "Command",
    "ComposerTarget",
    "bucket_command",
    "composer_requirements",
    "deploy_commands",
    "main",
    "render_script",
    "runtime_pins",
]

#: Stands for the environment's bucket (``gs://…``) until ``describe`` has told it.
BUCKET = "${BUCKET}"
#: A connection of our own: Composer's ``google_cloud_default`` exists already and stays untouched.
DEFAULT_CONNECTION_ID = "gemini_qa_tuning"
#: Where the wheel goes in the bucket, and where Composer's workers see it.
WHEEL_FOLDER = "data/wheels"
MOUNTED_BUCKET = "/home/airflow/gcs"
PYCACHE = r".*__pycache__.*"  # gcloud storage rsync --exclude takes a regular expression
REPOSITORY = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ComposerTarget:
    """The environment to deploy to and the Vertex AI project and region its tasks use."""

    environment: str
    location: str
    project: str | None = None  # None: gcloud's configured project
    vertex_location: str | None = None  # None: the environment's location
    connection_id: str = DEFAULT_CONNECTION_ID

    def __post_init__(self) -> None:
        for name in ("environment", "location", "connection_id"):
            if not getattr(self, name):
                raise ValueError(f"{name} is required (make composer-deploy ENV=… LOCATION=…).")

    def scope(self) -> tuple[str, ...]:
        """The arguments every ``gcloud composer environments`` command takes after its verb."""
        project = ("--project", self.project) if self.project else ()
        return (self.environment, "--location", self.location, *project)


@dataclass(frozen=True)
class Command:
    """One command line and why it runs."""

    argv: tuple[str, ...]
    why: str

    def with_bucket(self, bucket: str) -> Command:
        """The command with the bucket placeholder replaced by ``bucket`` (``gs://name``)."""
        return Command(tuple(arg.replace(BUCKET, bucket) for arg in self.argv), self.why)


def bucket_command(target: ComposerTarget) -> Command:
    """``describe`` printing the DAGs folder, ``gs://BUCKET/dags``."""
    return Command(
        ("gcloud", "composer", "environments", "describe", *target.scope(), "--format=value(config.dagGcsPrefix)"),
        "the environment's bucket (its DAGs folder, without /dags)",
    )


def runtime_pins(requirements: str) -> list[str]:
    """The requirement lines of ``requirements.txt`` (comments and blank lines dropped)."""
    pins = [line.split("#", 1)[0].strip() for line in requirements.splitlines()]
    return [pin for pin in pins if pin]


def composer_requirements(pins: Sequence[str], wheel_name: str) -> str:
    """The PyPI packages file for Composer: the pins and the wheel at its path on the workers."""
    distribution = wheel_name.split("-", 1)[0].replace("_", "-")
    wheel = f"{distribution} @ file://{MOUNTED_BUCKET}/{WHEEL_FOLDER}/{wheel_name}"
    return "\n".join([*pins, wheel]) + "\n"


def deploy_commands(
    target: ComposerTarget, wheel: Path, requirements_file: Path, dags: Path, plugins: Path
) -> list[Command]:
    """Every command after the bucket lookup, in order; :data:`BUCKET` stands for the bucket."""
    environments = ("gcloud", "composer", "environments")
    extra = {"project": target.project or "YOUR_PROJECT", "location": target.vertex_location or target.location}
    return [
        Command(
            ("gcloud", "storage", "cp", str(wheel), f"{BUCKET}/{WHEEL_FOLDER}/{wheel.name}"),
            "the library wheel, where the workers see it",
        ),
        Command(
            (*environments, "update", *target.scope(), "--update-pypi-packages-from-file", str(requirements_file)),
            "install the wheel and the pins of requirements.txt (Composer builds a new image: minutes)",
        ),
        Command(
            ("gcloud", "storage", "rsync", "--recursive", f"--exclude={PYCACHE}", str(dags), f"{BUCKET}/dags"),
            "the DAG files into the DAGs folder (other DAGs there stay)",
        ),
        Command(
            ("gcloud", "storage", "rsync", "--recursive", f"--exclude={PYCACHE}", str(plugins), f"{BUCKET}/plugins"),
            "the plugins folder (UI additions only: the hook, trigger and link come from the wheel)",
        ),
        Command(
            (*environments, "run", *target.scope(), "connections", "add", "--", target.connection_id,
             "--conn-type", "google_cloud_platform", "--conn-extra", json.dumps(extra, sort_keys=True)),
            f"the Vertex AI connection (set the DAG's gcp_conn_id Param to {target.connection_id}); no key: "
            "tasks use the environment's service account",
        ),
    ]  # fmt: skip


def _shell_word(arg: str) -> str:
    # The bucket placeholder must expand: double quotes around it, single-quote rules everywhere else.
    if BUCKET in arg and shlex.quote(arg.replace(BUCKET, "")) == arg.replace(BUCKET, ""):
        return f'"{arg}"'
    return shlex.quote(arg)


def render_script(target: ComposerTarget, commands: Sequence[Command]) -> str:
    """The commands as a shell script: the bucket lookup sets ``BUCKET``, the rest use it."""
    lookup = bucket_command(target)
    lines = [
        f"# Deploy gemini-qa-tuning to Cloud Composer environment {target.environment} ({target.location}).",
        f"# {lookup.why}",
        f'BUCKET="$({shlex.join(lookup.argv)})"',
        'BUCKET="${BUCKET%/dags}"',
    ]
    for command in commands:
        lines += [f"# {command.why}", " ".join(_shell_word(arg) for arg in command.argv)]
    lines += [
        "# With Secret Manager as the secrets backend instead of the metadata database, store the connection as",
        f"# the secret airflow-connections-{target.connection_id} (the --conn-extra JSON as its extra).",
    ]
    return "\n".join(lines) + "\n"


def run_commands(target: ComposerTarget, commands: Sequence[Command]) -> None:
    """Run the lookup, then every command with the bucket filled in; stop at the first failure."""
    lookup = bucket_command(target)
    print(f"+ {shlex.join(lookup.argv)}", flush=True)
    found = subprocess.run(lookup.argv, check=True, capture_output=True, text=True).stdout.strip()
    if not found.startswith("gs://"):
        raise SystemExit(f"{target.environment} in {target.location} reported no DAGs folder (got {found!r}).")
    bucket = found.removesuffix("/dags")
    for command in commands:
        filled = command.with_bucket(bucket)
        print(f"+ {shlex.join(filled.argv)}  # {filled.why}", flush=True)
        subprocess.run(filled.argv, check=True)


def find_wheel(dist: Path) -> Path:
    """The wheel ``make wheel`` built for the current version."""
    from gemini_qa_tuning import __version__

    wheels = sorted(dist.glob(f"gemini_qa_tuning-{__version__}-*.whl"))
    if not wheels:
        raise SystemExit(f"No gemini_qa_tuning-{__version__} wheel in {dist}: run make wheel first.")
    return wheels[-1]


def shown(path: Path) -> Path:
    """``path`` relative to the working directory when inside it (shorter printed commands)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--environment", required=True, help="Composer environment name (ENV=)")
    parser.add_argument("--location", required=True, help="its region (LOCATION=)")
    parser.add_argument("--project", default=None, help="Google Cloud project (default: gcloud's)")
    parser.add_argument("--vertex-location", default=None, help="Vertex AI region (default: the environment's)")
    parser.add_argument("--connection-id", default=DEFAULT_CONNECTION_ID, help="Airflow connection to create")
    parser.add_argument("--dist", type=Path, default=REPOSITORY / "dist", help="where make wheel put the wheel")
    parser.add_argument("--run", action="store_true", help="run the commands instead of printing them")
    args = parser.parse_args(argv)
    try:
        target = ComposerTarget(
            environment=args.environment,
            location=args.location,
            project=args.project or None,
            vertex_location=args.vertex_location or None,
            connection_id=args.connection_id,
        )
    except ValueError as error:
        parser.error(str(error))
    wheel = find_wheel(args.dist)
    requirements_file = args.dist / "composer-requirements.txt"
    pins = runtime_pins((REPOSITORY / "requirements.txt").read_text(encoding="utf-8"))
    requirements_file.write_text(composer_requirements(pins, wheel.name), encoding="utf-8")
    commands = deploy_commands(
        target, shown(wheel), shown(requirements_file), shown(REPOSITORY / "dags"), shown(REPOSITORY / "plugins")
    )
    if args.run:
        run_commands(target, commands)
    else:
        sys.stdout.write(render_script(target, commands))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
