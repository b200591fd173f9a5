"""Issue 11 through ``dag.test()`` against the emulators: the champion alias moves on promotion, a
rollback restores the previous champion and its alias, and a broken alias is repaired by the next run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gemini_qa_tuning.champion import read_champion_state
from gemini_qa_tuning.model_registry import ModelVersion, VertexModelRegistry

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
FAST_JOBS = {"pending_seconds": 0.05, "queued_seconds": 0.05, "running_seconds": 0.5}
# A second promotion on the same data: a new tuning config (a new job), and an equal score is enough.
PROMOTE_AGAIN = {
    "force_retrain": True,
    "epochs": 2,
    "promotion_min_f1_gain": 0,
    "promotion_require_significance": False,
}


@pytest.fixture
def dag_bag(airflow_db: float, local_airflow_env: dict, vertex_emulator: Any) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    vertex_emulator.reset()
    vertex_emulator.configure(**FAST_JOBS)
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert not bag.import_errors, bag.import_errors
    return bag


@pytest.fixture
def registry(vertex_emulator: Any) -> Any:
    import google.oauth2.credentials

    client = VertexModelRegistry(
        google.oauth2.credentials.Credentials(token="t"), "us-central1", vertex_emulator.base_url
    )
    yield client
    client.close()


def tune(bag: Any, prefix: str, **conf: Any) -> dict[str, str]:
    run = bag.get_dag("gemini_squad_tuning").test(
        run_conf={"source_kind": "sample", "gcs_prefix": prefix, "poll_interval_seconds": 1, **conf}
    )
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    return states


def roll_back(bag: Any, prefix: str, **conf: Any) -> tuple[str, dict[str, str], str]:
    run = bag.get_dag("gemini_squad_rollback").test(run_conf={"gcs_prefix": prefix, **conf})
    return str(run.state), {ti.task_id: str(ti.state) for ti in run.get_task_instances()}, run.run_id


def version_of(state: Any) -> ModelVersion:
    assert state.record is not None and state.record.tuned_model
    return ModelVersion.parse(state.record.tuned_model)


def test_the_alias_moves_on_promotion_and_a_rollback_moves_it_back(
    dag_bag: Any, registry: Any, vertex_emulator: Any, gcs_bucket_uri: str
) -> None:
    tune(dag_bag, gcs_bucket_uri)
    first = read_champion_state(gcs_bucket_uri)
    first_version = version_of(first)
    assert first.record is not None and first.record.alias == "champion" and first.record.model_version == "1"
    assert first.record.endpoint == first.record.model
    assert registry.version_aliases(first_version) == ("default", "champion")

    states = tune(dag_bag, gcs_bucket_uri, **PROMOTE_AGAIN)
    assert states["promote_champion"] == "success", states
    second = read_champion_state(gcs_bucket_uri)
    second_version = version_of(second)
    assert second_version != first_version
    assert registry.version_aliases(second_version) == ("default", "champion")
    assert registry.version_aliases(first_version) == ("default",)  # the previous champion lost it
    assert [entry.action for entry in second.history] == ["promote", "promote"]

    state, tasks, run_id = roll_back(dag_bag, gcs_bucket_uri, history_entry="previous")
    assert state == "success", tasks
    restored = read_champion_state(gcs_bucket_uri)
    assert restored.record is not None and first.record is not None
    assert (restored.record.model, restored.record.tuned_model) == (first.record.model, first.record.tuned_model)
    assert registry.version_aliases(first_version) == ("default", "champion")
    assert registry.version_aliases(second_version) == ("default",)
    latest = restored.history[-1]
    assert (latest.action, latest.restored_entry, latest.previous_entry) == (
        "rollback",
        first.history[-1].entry_id,
        second.history[-1].entry_id,
    )
    from tests.integration.test_pipeline_dag import asset_events

    assert asset_events("gemini_squad_champion", run_id) == [
        {"model": first.record.model, "run_id": run_id, "action": "rollback"}
    ]
    # The same rollback again has nothing to do: "previous" is now the second champion, a roll forward.
    assert read_champion_state(gcs_bucket_uri).latest_entry == latest


def test_a_failure_between_record_and_alias_is_repaired_by_the_next_run(
    dag_bag: Any, registry: Any, gcs_bucket_uri: str
) -> None:
    tune(dag_bag, gcs_bucket_uri)
    first_version = version_of(read_champion_state(gcs_bucket_uri))
    tune(dag_bag, gcs_bucket_uri, **PROMOTE_AGAIN)
    second_version = version_of(read_champion_state(gcs_bucket_uri))
    # What a promotion that died after its record write and before the alias leaves behind:
    registry.merge_version_aliases(second_version, ["-champion"])
    registry.merge_version_aliases(first_version, ["champion"])

    # A run that cannot promote (an impossible gain): only its find_champion can move the alias back.
    states = tune(dag_bag, gcs_bucket_uri, epochs=2, promotion_min_f1_gain=100)
    assert states["promote_champion"] == "skipped", states
    assert registry.version_aliases(second_version) == ("default", "champion")
    assert registry.version_aliases(first_version) == ("default",)


def test_rollback_refuses_a_champion_whose_base_model_is_retired(dag_bag: Any, gcs_bucket_uri: str) -> None:
    from gemini_qa_tuning.champion import ChampionRecord, write_champion

    old = ChampionRecord(
        model="projects/1/locations/us-central1/endpoints/5",
        base_model="gemini-2.5-flash",  # retired on 2026-10-20 (tuning/models.json)
        promoted_at="2026-01-01T00:00:00",
        run_id="old",
    )
    write_champion(gcs_bucket_uri, old, expected_generation=0)
    new = ChampionRecord(
        model="projects/1/locations/us-central1/endpoints/6",
        base_model="gemini-3.5-flash-lite",
        promoted_at="2026-11-01T00:00:00",
        run_id="new",
    )
    write_champion(gcs_bucket_uri, new, expected_generation=read_champion_state(gcs_bucket_uri).generation)
    before = read_champion_state(gcs_bucket_uri)

    state, tasks, _ = roll_back(dag_bag, gcs_bucket_uri, history_entry="previous")
    assert state == "failed" and tasks["roll_back"] == "failed", tasks
    assert read_champion_state(gcs_bucket_uri) == before  # nothing changed


def test_rollback_of_an_unknown_entry_fails_and_changes_nothing(dag_bag: Any, gcs_bucket_uri: str) -> None:
    from gemini_qa_tuning.champion import ChampionRecord, write_champion

    write_champion(gcs_bucket_uri, ChampionRecord(model="gemini-3.5-flash-lite", promoted_at="t0"), 0)
    before = read_champion_state(gcs_bucket_uri)
    state, tasks, _ = roll_back(dag_bag, gcs_bucket_uri, history_entry="no-such-entry")
    assert state == "failed" and tasks["roll_back"] == "failed", tasks
    assert read_champion_state(gcs_bucket_uri) == before
