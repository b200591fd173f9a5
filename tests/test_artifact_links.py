"""Artifact URLs: the console online, the emulators' REST resources offline."""

from __future__ import annotations

from gemini_qa_tuning.artifact_links import artifact_url

MODEL = "projects/123/locations/us-central1/models/456@2"
ENDPOINT = "projects/123/locations/us-central1/endpoints/789"


def test_offline_links_resolve_to_the_local_emulators() -> None:
    offline = {"storage_emulator": "http://127.0.0.1:4443", "vertex_base_url": "http://127.0.0.1:8123/"}
    assert (
        artifact_url("gs://b/p/runs/r/metrics.json", **offline)
        == "http://127.0.0.1:4443/storage/v1/b/b/o/p%2Fruns%2Fr%2Fmetrics.json?alt=media"
    )
    assert artifact_url("gs://b/p/datasets/f", folder=True, **offline) == (
        "http://127.0.0.1:4443/storage/v1/b/b/o?prefix=p/datasets/f/"
    )
    assert artifact_url(MODEL, **offline) == f"http://127.0.0.1:8123/v1/{MODEL}"
    assert artifact_url(ENDPOINT, **offline) == f"http://127.0.0.1:8123/v1/{ENDPOINT}"


def test_online_links_open_the_console() -> None:
    assert (
        artifact_url("gs://b/p/metrics.json")
        == "https://console.cloud.google.com/storage/browser/_details/b/p/metrics.json"
    )
    assert artifact_url(MODEL) == (
        "https://console.cloud.google.com/vertex-ai/models/locations/us-central1/models/456/versions/2/properties"
        "?project=123"
    )
    assert artifact_url(ENDPOINT) == (
        "https://console.cloud.google.com/vertex-ai/locations/us-central1/endpoints/789?project=123"
    )
    assert artifact_url("/tmp/local/metrics.json") is None
