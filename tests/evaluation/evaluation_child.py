"""A worker-like process for the kill tests: one evaluation against the emulators, as an Airflow task runs it.

    python tests/evaluation/evaluation_child.py VERTEX_BASE_URL TEST_URI OUTPUT_PREFIX CONCURRENCY

``STORAGE_EMULATOR_HOST`` must point at fake-gcs-server. Like Airflow 3's task runner, it installs a
SIGTERM handler that only calls ``on_kill`` (here: prints a line) and returns; the evaluation is run with
``graceful_stop_signals=(SIGTERM,)`` on top of it, as the pipeline's evaluation step does. Exit codes:
0 finished, 3 stopped gracefully (EvaluationInterrupted).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # devtools/
os.environ.setdefault("NO_GCE_CHECK", "true")


def main() -> int:
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    from devtools.local_env import LOCAL_LOCATION, LOCAL_PROJECT, LOCAL_TOKEN
    from gemini_qa_tuning.evaluation import EvaluationInterrupted, EvaluationSettings, ThinkingChoice, run_predictions

    base_url, test_uri, output, concurrency = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    def airflow_like_on_term(signum: int, frame: FrameType | None) -> None:
        print("on_kill called", file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, airflow_like_on_term)
    client = genai.Client(
        vertexai=True,
        project=LOCAL_PROJECT,
        location=LOCAL_LOCATION,
        credentials=google.oauth2.credentials.Credentials(token=LOCAL_TOKEN),
        http_options=types.HttpOptions(base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1)),
    )
    settings = EvaluationSettings(
        concurrency=concurrency,
        error_share_limit=0.0,
        empty_share_limit=1.0,  # this test counts requests, not answers
        stop_grace_seconds=3.0,
        thinking=ThinkingChoice(level="MINIMAL", budget=None, reserved_tokens=256, reason="lowest in this test"),
    )
    print("started", flush=True)
    try:
        run_predictions(
            client,
            "gemini-3.5-flash-lite",
            test_uri,
            output,
            settings,
            slug="base",
            graceful_stop_signals=(signal.SIGTERM,),
        )
    except EvaluationInterrupted as error:
        print(f"interrupted: {error}", file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
