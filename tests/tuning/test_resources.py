"""Job resource names, console links and label rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gemini_qa_tuning.tuning import TuningJobNameError, console_url, label_value, labels_filter, parse_job_name
from gemini_qa_tuning.tuning.resources import console_url_or_name, identity_label_value

JOB = "projects/local-project/locations/us-central1/tuningJobs/123"


@given(st.text(min_size=0, max_size=200))
def test_label_value_always_valid(text: str) -> None:
    assert re.fullmatch(r"[a-z0-9_-]{0,63}", label_value(text))


def test_labels_filter_is_aip160() -> None:
    assert labels_filter({"b": "2", "a": "1"}) == 'labels.a="1" AND labels.b="2"'


def test_console_url_and_job_name() -> None:
    assert parse_job_name(JOB) == ("local-project", "us-central1", "123")
    assert console_url(JOB) == (
        "https://console.cloud.google.com/vertex-ai/generative/language/locations/us-central1"
        "/tuning/tuningJob/123?project=local-project"
    )
    with pytest.raises(TuningJobNameError, match="is not a tuning job resource name"):
        parse_job_name("tuningJobs/123")
    assert console_url_or_name("not-a-job") == "not-a-job"
    assert console_url_or_name(JOB) == console_url(JOB)


def test_identity_label_values_must_not_be_empty() -> None:
    assert identity_label_value("pipeline_id", "My DAG", "hint") == "my-dag"
    with pytest.raises(ValueError, match="pipeline_id '  ' is empty after label normalisation; say who"):
        identity_label_value("pipeline_id", "  ", "say who")
