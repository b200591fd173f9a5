"""Run the Vertex AI emulator: ``python -m devtools.vertex_emulator --port 8090 [options]``.

See devtools/vertex_emulator/README.md for the endpoints and every option.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from devtools.vertex_emulator.config import API_METHODS, CONFIG_KEYS, JOB_OUTCOMES, EmulatorConfig
from devtools.vertex_emulator.jobs import HOLDABLE_STATES


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.vertex_emulator",
        description="Local Vertex AI emulator (tuning jobs, generateContent, countTokens) for google-genai.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to bind; 0 picks a free one (default 8090)")
    parser.add_argument("--port-file", type=Path, help="write the bound port to this file once listening")
    parser.add_argument("--state-file", type=Path, help="keep jobs, models and endpoints in this JSON file")
    parser.add_argument(
        "--gcs-endpoint",
        dest="gcs_endpoint",
        help="fake-gcs-server URL for gs:// datasets (default: $STORAGE_EMULATOR_HOST)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level of the emulator's log (stderr)")
    faults = parser.add_argument_group("fault injection and timing (also settable via POST /_emulator/config)")
    faults.add_argument("--latency", "--latency-seconds", dest="latency_seconds", type=float, help="per API call")
    faults.add_argument(
        "--requests-per-minute", dest="requests_per_minute", type=int, help="quota per method; above: 429"
    )
    faults.add_argument(
        "--quota-window-seconds", dest="quota_window_seconds", type=float, help="the quota's window (default 60)"
    )
    faults.add_argument("--error-rate-503", dest="error_rate_503", type=float, help="share of 503s, 0..1")
    faults.add_argument("--error-seed", dest="error_seed", type=int, help="seed of the 503 sequence (default 0)")
    faults.add_argument("--job-outcome", dest="job_outcome", choices=JOB_OUTCOMES, help="end of new tuning jobs")
    for phase in ("pending", "queued", "running", "cancelling"):
        faults.add_argument(f"--{phase}-seconds", dest=f"{phase}_seconds", type=float, help=f"{phase} phase")
    faults.add_argument(
        "--hold-jobs-at",
        dest="hold_jobs_at",
        choices=HOLDABLE_STATES,
        help="new tuning jobs stop in this state until POST /_emulator/tuningJobs/{id}:advance (test control)",
    )
    faults.add_argument(
        "--fault-methods",
        dest="fault_methods",
        help=f"comma-separated method keys the latency/429/503 faults apply to (default all: {','.join(API_METHODS)})",
    )
    faults.add_argument(
        "--slow-create-seconds",
        dest="slow_create_seconds",
        type=float,
        help="a create is stored at once but answered, and visible to get/list, only this much later (default 0)",
    )
    faults.add_argument(
        "--batch-line-error-rate",
        dest="batch_line_error_rate",
        type=float,
        help="share of batch prediction lines answered with a per-line error status (default 0)",
    )
    faults.add_argument(
        "--batch-running-seconds",
        dest="batch_running_seconds",
        type=float,
        help="the least time a batch prediction job stays RUNNING (default 0.3)",
    )
    faults.add_argument(
        "--retry-after-on-429", dest="retry_after_on_429", help="true: 429s carry a Retry-After header (default false)"
    )
    fidelity = parser.add_argument_group("fidelity (also settable via POST /_emulator/config)")
    fidelity.add_argument("--today", dest="today", help="ISO date used for model retirement (default: the real date)")
    fidelity.add_argument(
        "--project-number", dest="project_number", help="project number in resource names; '' echoes the project id"
    )
    fidelity.add_argument("--model-thinking", dest="model_thinking", help="false: no model thinks (default true)")
    fidelity.add_argument(
        "--min-training-examples", dest="min_training_examples", type=int, help="smallest training set (default 16)"
    )
    fidelity.add_argument(
        "--best-checkpoint-epoch", dest="best_checkpoint_epoch", type=int, help="epoch that answers best (default last)"
    )
    return parser


def _normalized_endpoint(value: str | None) -> str | None:
    if not value:
        return None
    return value if value.startswith(("http://", "https://")) else f"http://{value}"


def startup_config(args: argparse.Namespace) -> EmulatorConfig:
    """The configuration the command-line flags ask for; raises ``ValueError`` for a bad value."""
    # Every config key has a flag whose destination is the key (see argument_parser); unset flags keep defaults.
    changes: dict[str, Any] = {key: getattr(args, key) for key in CONFIG_KEYS if getattr(args, key) is not None}
    changes["gcs_endpoint"] = _normalized_endpoint(args.gcs_endpoint or os.environ.get("STORAGE_EMULATOR_HOST"))
    return EmulatorConfig().updated(changes)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = startup_config(args)
    except ValueError as error:
        parser.error(str(error))

    from devtools.vertex_emulator.server import serve  # aiohttp is imported only when serving

    try:
        asyncio.run(serve(config, args.host, args.port, args.state_file, args.port_file))
    except ValueError as error:  # an unreadable state file
        logging.getLogger(__name__).error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
