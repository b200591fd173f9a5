"""The provider registration: what Airflow's ProvidersManager finds through the package's entry point."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import subprocess
import sys
from typing import Any

import pytest

from gemini_qa_tuning import provider

ENTRY_POINT_GROUP = "apache_airflow_provider"


def _import_dotted(path: str) -> Any:
    module_name, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def test_provider_info_passes_airflows_schema() -> None:
    from airflow.providers_manager import _create_provider_info_schema_validator

    info = provider.get_provider_info()
    _create_provider_info_schema_validator().validate(info)
    assert info["package-name"] == importlib.metadata.metadata("gemini-qa-tuning")["Name"].replace("_", "-")
    assert info["versions"] == [importlib.metadata.version("gemini-qa-tuning")]


def test_every_registered_name_resolves() -> None:
    """A dotted path that no longer imports would be dropped by Airflow with only a log line."""
    from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink, BaseSensorOperator
    from airflow.triggers.base import BaseTrigger

    info = provider.get_provider_info()
    kinds = {"operators": BaseOperator, "sensors": BaseSensorOperator, "hooks": BaseHook, "triggers": BaseTrigger}
    found: dict[str, list[str]] = {}
    for section, base in kinds.items():
        for entry in info[section]:
            assert entry["integration-name"] in {i["integration-name"] for i in info["integrations"]}
            for module_name in entry["python-modules"]:
                module = importlib.import_module(module_name)
                found.setdefault(section, []).extend(
                    name
                    for name, value in vars(module).items()
                    if inspect.isclass(value) and issubclass(value, base) and value.__module__ == module_name
                )
    assert found == {
        "operators": ["LaunchTuningJobOperator", "EvaluateModelOperator"],
        "sensors": ["TuningJobSensor"],
        "hooks": ["GenAIVertexHook"],
        "triggers": ["TuningJobTrigger", "BatchPredictionJobTrigger"],
    }
    link_path, *artifact_paths = info["extra-links"]
    link_class = _import_dotted(link_path)
    assert issubclass(link_class, BaseOperatorLink) and link_class.name == "Vertex AI tuning job"
    from gemini_qa_tuning.links.artifacts import ARTIFACT_LINKS

    assert [_import_dotted(path) for path in artifact_paths] == list(ARTIFACT_LINKS)


def test_installed_entry_point_resolves_to_get_provider_info() -> None:
    (entry_point,) = [
        ep
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.dist is not None and ep.dist.name.replace("_", "-") == "gemini-qa-tuning"
    ]
    assert entry_point.value == "gemini_qa_tuning.provider:get_provider_info"
    assert entry_point.load() is provider.get_provider_info


@pytest.fixture
def providers_manager() -> Any:
    """Airflow's ProvidersManager (a process-wide singleton that discovers the installed providers)."""
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def test_airflow_registers_the_link_and_the_trigger(providers_manager: Any) -> None:
    registered = providers_manager.providers["gemini-qa-tuning"]
    assert registered.version == importlib.metadata.version("gemini-qa-tuning")
    assert provider.LINK_CLASS in providers_manager.extra_links_class_names
    ours = [info for info in providers_manager.trigger if info.package_name == "gemini-qa-tuning"]
    assert sorted(info.trigger_class_name for info in ours) == sorted(provider.TRIGGER_MODULES)


def test_the_google_connection_type_stays_the_google_providers(providers_manager: Any) -> None:
    """The hook reuses ``google_cloud_platform``; registering it too would compete with its owner."""
    from airflow.providers.google.common.hooks.base_google import GoogleBaseHook

    from gemini_qa_tuning.hooks.genai import GenAIVertexHook

    assert GenAIVertexHook.conn_type == GoogleBaseHook.conn_type == "google_cloud_platform"
    from tests.airflow_lines import connection_hook_class_name

    assert connection_hook_class_name(providers_manager, "google_cloud_platform") == (
        "airflow.providers.google.common.hooks.base_google.GoogleBaseHook"
    )


def test_a_serialized_dag_shows_the_link_without_any_plugin(providers_manager: Any) -> None:
    """What the api-server gets: the link's name and XCom key from the DAG, the class from the provider.

    Airflow 3 serializes an operator's links as ``{name: xcom_key}`` and the UI reads the URL the task
    stored under that key, so no plugin is needed; the registered class must agree on the key.
    """
    import pendulum
    from airflow.sdk import DAG, XComArg

    from gemini_qa_tuning import LaunchTuningJobOperator, TuningJobSensor
    from tests.airflow_lines import dag_serialization, plugin_operator_extra_links

    with DAG("provider_link_check", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        launch = LaunchTuningJobOperator(task_id="launch", training_uri="gs://b/train.jsonl")
        TuningJobSensor(task_id="wait", job_name=XComArg(launch, key="tuning_job_name"))

    assert provider.LINK_CLASS in providers_manager.extra_links_class_names
    registered_link = _import_dotted(provider.LINK_CLASS)()

    DagSerialization = dag_serialization()
    serialized = DagSerialization.to_dict(dag)
    tasks = {task["__var"]["task_id"]: task["__var"] for task in serialized["dag"]["tasks"]}
    for task_id in ("launch", "wait"):
        assert tasks[task_id]["_operator_extra_links"] == {registered_link.name: registered_link.xcom_key}

    restored = DagSerialization.from_dict(serialized)
    for task_id in ("launch", "wait"):
        (link,) = restored.get_task(task_id).operator_extra_links
        assert (link.name, link.xcom_key) == (registered_link.name, registered_link.xcom_key)
    plugin_links = [type(link).__module__ for link in plugin_operator_extra_links()]
    assert not [module for module in plugin_links if module.startswith("gemini_qa_tuning")]


# --------------------------------------------------------------------------- the lazy package root
def test_every_public_name_of_the_package_root_resolves() -> None:
    import gemini_qa_tuning

    for name in gemini_qa_tuning.__all__:
        assert getattr(gemini_qa_tuning, name) is not None, name
    assert gemini_qa_tuning.LaunchTuningJobOperator.__module__ in provider.OPERATOR_MODULES
    assert set(gemini_qa_tuning.__all__) <= set(dir(gemini_qa_tuning))
    with pytest.raises(AttributeError, match="has no attribute 'LaunchJob'; public names: GenAIVertexHook"):
        gemini_qa_tuning.LaunchJob  # noqa: B018 - the attribute access is the test


def test_importing_the_package_root_and_provider_info_loads_no_airflow() -> None:
    """Every Airflow component calls get_provider_info() at start-up: it must stay cheap."""
    code = (
        "import sys, gemini_qa_tuning, gemini_qa_tuning.provider as p; p.get_provider_info(); "
        "heavy = sorted(m for m in ('airflow', 'google.genai', 'google.cloud.storage', 'datasets') "
        "if m in sys.modules); print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
