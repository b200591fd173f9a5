"""How long the DAG files take to parse, on top of importing ``airflow.sdk`` (a cost that is not ours).

The DAG processor re-parses every file every ``min_file_process_interval`` seconds, so a DAG file that
imports heavy libraries at the top slows every deployment it lands in. Each file is parsed in a fresh
interpreter (best of ``--repeat``), after ``airflow.sdk`` is imported.

Target: every file parses in < 1 s and adds at most 0.5x to the ``airflow.sdk`` import.

Run: ``.venv/bin/python bench/dag_parse.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"
MAX_PARSE_SECONDS = 1.0
MAX_SHARE_OF_SDK_IMPORT = 0.5

_MEASURE = """
import time
start = time.perf_counter()
import airflow.sdk
sdk = time.perf_counter() - start
import runpy
start = time.perf_counter()
runpy.run_path({path!r})
print(sdk, time.perf_counter() - start)
"""


def _measure(dag_file: Path) -> tuple[float, float]:
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE.format(path=str(dag_file))], capture_output=True, text=True, check=True
    )
    sdk_seconds, parse_seconds = result.stdout.split()[-2:]
    return float(sdk_seconds), float(parse_seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    failed = False
    for dag_file in sorted(DAGS_FOLDER.glob("*.py")):
        runs = [_measure(dag_file) for _ in range(arguments.repeat)]
        sdk_seconds = min(sdk for sdk, _ in runs)
        parse_seconds = min(parse for _, parse in runs)
        share = parse_seconds / sdk_seconds
        ok = parse_seconds < MAX_PARSE_SECONDS and share <= MAX_SHARE_OF_SDK_IMPORT
        failed = failed or not ok
        print(
            f"{dag_file.name}: parse {parse_seconds:.3f} s (target < {MAX_PARSE_SECONDS:.1f} s), "
            f"{share:.2f}x the airflow.sdk import of {sdk_seconds:.3f} s (target <= {MAX_SHARE_OF_SDK_IMPORT}x) "
            f"{'PASS' if ok else 'FAIL'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
