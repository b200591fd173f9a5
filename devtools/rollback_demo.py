"""``make rollback``: run the manual DAG ``gemini_squad_rollback`` against the demo's emulator state.

Restores the champion before the current one (``history_entry=previous``) in the prefix ``make demo``
uses, then prints the champion history and which model version holds the alias. There must be a previous
champion to go back to: ``make demo``, then a second demo with another tuning config that is promoted, e.g.
``DEMO_CONF_EXTRA='{"epochs": 2, "promotion_min_f1_gain": 0, "promotion_require_significance": false}' make demo``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from devtools.demo import DEMO_PREFIX
from devtools.demo_progress import run_quietly as run
from devtools.local_env import LOCAL_TOKEN
from devtools.local_stack import LOCAL_STATE, child_environment, running_local_stack

ROLLBACK_DAG_ID = "gemini_squad_rollback"


def main() -> int:
    LOCAL_STATE.mkdir(parents=True, exist_ok=True)
    log_file = LOCAL_STATE / "rollback.log"
    log_file.write_bytes(b"")
    started = time.time()
    with running_local_stack() as stack:
        environment = child_environment(stack)
        airflow = str(Path(sys.executable).parent / "airflow")
        if run([airflow, "db", "migrate"], environment, log_file) != 0:
            print(f"airflow db migrate failed; see {log_file}")
            return 1
        conf = {"history_entry": os.environ.get("HISTORY_ENTRY", "previous"), "gcs_prefix": DEMO_PREFIX}
        code = run([airflow, "dags", "test", ROLLBACK_DAG_ID, "-c", json.dumps(conf)], environment, log_file)
        os.environ.update(environment)
        from devtools.champion_report import format_champion_history

        print("\n" + "=" * 78)
        print(format_champion_history(DEMO_PREFIX, environment.get("GOOGLE_VERTEX_BASE_URL"), LOCAL_TOKEN))
    print(f"\nRollback {'succeeded' if code == 0 else 'FAILED (see the log above)'} in {time.time() - started:.0f} s.")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
