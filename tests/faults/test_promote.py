"""Fault suite, decide / promote stage: racing promotions through the pipeline's steps, corrupt records.

The race runs the DAG's own ``find_champion`` and ``promote_champion`` steps in forked processes (as
three runs' workers would), on every storage backend the ``gcs_prefix`` Param allows: exactly one run
promotes, the others fail without retry (``AirflowFailException``) saying the champion changed, and the
history holds one copy per winning promotion. A corrupt or hand-edited record fails ``find_champion`` on
the first try, naming the object and the way to restore it, before any tuning job could be launched.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gemini_qa_tuning import storage
from gemini_qa_tuning.champion import ChampionRecord, champion_history_prefix, champion_uri, read_champion
from tests.racing import needs_fork, race

pytestmark = pytest.mark.integration  # the steps act as the run's connection (tests/conftest.py's local_airflow_env)

DAG_ID = "gemini_squad_tuning"
RUNS = 3
ROUNDS = 2


@pytest.fixture(params=["gcs", "local-path", "file-uri"])
def prefix(request: pytest.FixtureRequest, tmp_path: Path, local_airflow_env: dict) -> str:
    """Every kind of gcs_prefix the DAG's Param allows."""
    if request.param == "gcs":
        return str(request.getfixturevalue("gcs_bucket_uri"))
    return str(tmp_path / "artifacts") if request.param == "local-path" else f"file://{tmp_path}/artifacts"


def _promotion_inputs(run: str) -> tuple[Any, Any, Any, Any]:
    """The parts of the exported dataset, plan, tuned model and comparison that ``promote_champion`` reads."""
    from gemini_qa_tuning.contracts import ModelComparison
    from gemini_qa_tuning.evaluation.report import MetricsHeadline
    from gemini_qa_tuning.tuning import TunedModel

    exported = SimpleNamespace(fingerprint=f"fingerprint-of-{run}")  # promote reads only the fingerprint
    plan = SimpleNamespace(base_model="gemini-3.5-flash-lite")  # and only the plan's base model
    tuned = TunedModel(
        job_name=f"projects/1/locations/us-central1/tuningJobs/{run}",
        state="JOB_STATE_SUCCEEDED",
        tuned_model=None,  # no registry version: the race is on the record (alias: test_champion_registry_dag)
        endpoint=f"projects/1/locations/us-central1/endpoints/{run}",
        billable_tokens=None,
        epochs=None,
        actual_cost_usd=None,
    )
    comparison = ModelComparison(
        metrics_uri="unused", headline=MetricsHeadline(questions=100, models={}, comparisons={})
    )
    return exported, plan, tuned, comparison


def _race_a_run(prefix: str, run: str, barrier: Any, results: Any) -> None:
    """One run's decide/promote: find the champion, wait until every run has, then promote."""
    from airflow.providers.common.compat.sdk import AirflowFailException

    from gemini_qa_tuning.pipeline import steps

    try:
        params = steps.check_params({"gcs_prefix": prefix}, DAG_ID)
        champion = steps.find_champion(params)
        barrier.wait(timeout=60)
        steps.promote_champion(*_promotion_inputs(run), champion, params, run)
        results.put((run, "won"))
    except AirflowFailException as error:
        changed = "The champion changed while this run was evaluating" in str(error)
        results.put((run, "lost" if changed else f"error: {error}"))
    except BaseException as error:  # reported to the test, which fails on it
        results.put((run, f"error: {error!r}"))


@needs_fork
def test_racing_runs_promote_exactly_one_model_on_every_backend(prefix: str) -> None:
    from gemini_qa_tuning.champion import write_champion
    from gemini_qa_tuning.pipeline import steps

    write_champion(prefix, ChampionRecord(model="gemini-3.5-flash-lite", promoted_at="t0", run_id="t0"), 0)
    # Warm up in the parent (imports, the connection's credentials): the forked runs inherit it and race
    # on the storage, not on the start-up of a worker.
    incumbent = steps.find_champion(steps.check_params({"gcs_prefix": prefix}, DAG_ID))
    assert incumbent is not None and incumbent.model == "gemini-3.5-flash-lite"
    for round_number in range(ROUNDS):
        outcomes = race(_race_a_run, prefix, writers=RUNS, round_number=round_number)
        winners = [run for run, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1 and sorted(outcomes.values()) == ["lost"] * (RUNS - 1) + ["won"], outcomes
        current, _ = read_champion(prefix)
        assert current is not None and current.model.endswith(f"/endpoints/{winners[0]}")
        assert current.dataset_fingerprint == f"fingerprint-of-{winners[0]}"
    # The incumbent plus one record per round: a losing run leaves nothing behind.
    assert len(storage.list_uris(champion_history_prefix(prefix))) == 1 + ROUNDS


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"model": "projects/1/locations/us-central1/endp', id="truncated"),
        pytest.param(b'{"model": ""}', id="empty-model"),
        pytest.param(b"", id="empty-file"),
        pytest.param(b'{"model": "m", "run_id": 7}', id="hand-edited-type"),
    ],
)
def test_a_corrupt_champion_record_fails_find_champion_on_the_first_try(prefix: str, content: bytes) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    from gemini_qa_tuning.pipeline import steps

    storage.write_bytes(champion_uri(prefix), content)
    params = steps.check_params({"gcs_prefix": prefix}, DAG_ID)
    # AirflowFailException, not a retryable error: the DAG's retries=2 would read the same bytes twice more.
    with pytest.raises(AirflowFailException) as refused:
        steps.find_champion(params)
    message = str(refused.value)
    assert champion_uri(prefix) in message and "retrying cannot fix this" in message
    assert f"copying the newest file under {champion_history_prefix(prefix)}/" in message
    assert storage.read_bytes(champion_uri(prefix)) == content, "the evidence is left as it was"


def test_two_promotions_stamped_the_same_second_both_stay_in_the_history(prefix: str) -> None:
    """``promoted_at`` has whole seconds; the history (what a corrupt record is restored from) must not lose
    the earlier promotion to the later one. Found by the race above: rounds a second apart lost a copy."""
    from gemini_qa_tuning.champion import write_champion

    first = ChampionRecord(
        model="projects/1/locations/l/endpoints/1", promoted_at="2026-12-01T02:00:00+00:00", run_id="a"
    )
    second = ChampionRecord(model="projects/1/locations/l/endpoints/2", promoted_at=first.promoted_at, run_id="b")
    write_champion(prefix, first, expected_generation=0)
    _, generation = read_champion(prefix)
    write_champion(prefix, second, expected_generation=generation)
    write_champion(prefix, second, expected_generation=generation)  # a retry of the second promotion

    history = sorted(storage.list_uris(champion_history_prefix(prefix)))
    kept = [ChampionRecord.from_json(json.loads(storage.read_text(uri))) for uri in history]
    assert [record.run_id for record in kept] == ["a", "b"], history  # sorted by name = in promotion order
    assert read_champion(prefix)[0] == second
