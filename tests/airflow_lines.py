"""Airflow internals the tests use that moved between Airflow 3.1 and 3.3 (make test-compat runs 3.1).

Each helper looks the name up where it exists, newest place first (feature detection, not a version
compare). Imported lazily by the tests, like Airflow itself, so collection stays cheap.
"""

from __future__ import annotations

from typing import Any


def dag_bag_class() -> Any:
    """``DagBag``: ``airflow.dag_processing.dagbag`` from 3.2, ``airflow.models.dagbag`` on 3.1."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    return DagBag


def dag_serialization() -> Any:
    """What turns a DAG into its stored JSON and back: ``DagSerialization`` from 3.2, ``SerializedDAG`` on 3.1."""
    from airflow.serialization import serialized_objects

    found = getattr(serialized_objects, "DagSerialization", None)
    return found if found is not None else serialized_objects.SerializedDAG


def connection_hook_class_name(providers_manager: Any, connection_type: str) -> str:
    """The hook class the providers manager registered for a connection type."""
    iterate = getattr(providers_manager, "iter_connection_type_hook_ui_metadata", None)
    if iterate is not None:  # Airflow 3.3
        return {m.connection_type: m for m in iterate()}[connection_type].hook_class_name
    return providers_manager.hooks[connection_type].hook_class_name  # Airflow 3.1


def cron_expression(timetable: Any) -> str:
    """A cron timetable's expression: the ``expression`` attribute (3.3), else its serialized form (3.1)."""
    expression = getattr(timetable, "expression", None)
    return str(expression if expression is not None else timetable.serialize()["expression"])


def plugin_operator_extra_links() -> list[Any]:
    """The operator extra links that Airflow plugins (not providers) contribute."""
    from airflow import plugins_manager

    get_links = getattr(plugins_manager, "get_operator_extra_links", None)
    if get_links is not None:  # Airflow 3.3
        return list(get_links())
    plugins_manager.initialize_extra_operators_links_plugins()  # Airflow 3.1: module globals, filled on demand
    return list(plugins_manager.operator_extra_links or [])
