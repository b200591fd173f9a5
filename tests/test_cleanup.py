"""The clean-up never deletes the champion's model or a history entry's, and keeps the newest losers."""

from __future__ import annotations

from typing import Any

import pytest

from gemini_qa_tuning.champion import ChampionRecord, ChampionState, HistoryEntry
from gemini_qa_tuning.cleanup import TunedModelCandidate, models_to_delete, protected_models

MODEL = "projects/1/locations/l/models/{}"


def candidate(number: int) -> TunedModelCandidate:
    return TunedModelCandidate(MODEL.format(number), f"2026-11-{number:02d}T00:00:00Z")


def record(number: int) -> ChampionRecord:
    return ChampionRecord(model=f"projects/1/locations/l/endpoints/{number}", tuned_model=MODEL.format(number) + "@1")


def test_the_champion_and_the_history_are_protected_and_the_newest_losers_kept() -> None:
    state = ChampionState(
        record=record(5),
        generation=3,
        history=(HistoryEntry("a", "promote", record(2)), HistoryEntry("b", "promote", record(5))),
    )
    protected = protected_models(state)
    assert protected == {MODEL.format(2), MODEL.format(5)}
    deleted = models_to_delete([candidate(number) for number in range(1, 9)], protected, keep_last=2)
    assert [item.model for item in deleted] == [MODEL.format(number) for number in (1, 3, 4, 6)]  # 7, 8 kept
    assert models_to_delete([candidate(5)], protected, keep_last=0) == []  # never the champion, even with K = 0


def test_a_negative_keep_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 0"):
        models_to_delete([], frozenset(), keep_last=-1)


def test_the_clean_up_step_deletes_losers_in_the_emulator_and_never_the_champion(
    create_job: Any, genai_client: Any, gcs_bucket_uri: str, fast_vertex: Any
) -> None:
    """Three succeeded jobs of one pipeline; the middle one is champion, K = 0: the other two are deleted."""
    import time

    from gemini_qa_tuning.champion import new_champion_record, read_champion_state, write_champion
    from gemini_qa_tuning.model_registry import ModelVersion
    from gemini_qa_tuning.pipeline.cleanup_steps import clean_up_models
    from gemini_qa_tuning.pipeline.params import PipelineParams

    names = [create_job(state="JOB_STATE_SUCCEEDED") for _ in range(3)]
    time.sleep(0.1)
    jobs = [genai_client.tunings.get(name=name) for name in names]
    champion = jobs[1].tuned_model
    write_champion(
        gcs_bucket_uri,
        new_champion_record(
            model=champion.endpoint,
            dataset_fingerprint="ff",
            tuned_model=champion.model,
            tuning_job=jobs[1].name,
            headline={},
            promoted_at="2026-12-01T00:00:00",
            run_id="r",
            alias="champion",
        ),
        expected_generation=0,
    )
    params = PipelineParams(
        gcs_prefix=gcs_bucket_uri, pipeline_id="tests", delete_losing_models=True, keep_last_models=0
    )
    deleted = clean_up_models(params)
    assert sorted(deleted) == sorted(ModelVersion.parse(job.tuned_model.model).model for job in (jobs[0], jobs[2]))
    assert read_champion_state(gcs_bucket_uri).record is not None
    assert clean_up_models(params) == []  # nothing left to delete; the champion stays
    # The champion still answers; a deleted model's endpoint does not.
    assert genai_client.models.generate_content(model=champion.endpoint, contents="Q?").text
    with pytest.raises(Exception, match="404"):
        genai_client.models.generate_content(model=jobs[0].tuned_model.endpoint, contents="Q?")


def test_the_clean_up_is_off_by_default() -> None:
    from airflow.providers.common.compat.sdk import AirflowSkipException

    from gemini_qa_tuning.pipeline.cleanup_steps import clean_up_models
    from gemini_qa_tuning.pipeline.params import PipelineParams

    with pytest.raises(AirflowSkipException, match="delete_losing_models is off"):
        clean_up_models(PipelineParams(pipeline_id="tests"))
