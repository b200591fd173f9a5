"""Digests of everything a refresh + export writes, to show that a speed-up changed no output byte.

Runs ``refresh_examples`` + ``export_refreshed`` on fixed inputs — the Vertex-maximum case of
``bench/refresh_export.py`` (1,000,000 synthetic questions, generated with the same seeds), the real SQuAD
sample in ../shared/data (two seeds and both ``group_by`` values) and the packaged sample — and writes the
SHA-256 of every file written (train / validation / test JSONL, rejects, manifest), the fingerprint and the
counts as JSON. Run it before and after a change and compare::

    .venv/bin/python bench/dataset_output_digests.py before.json   # on the old commit
    .venv/bin/python bench/dataset_output_digests.py after.json --compare before.json

``--data-dir`` keeps the generated 1 M input between runs (generating it takes ~30 s); ``--skip-max`` leaves
that case out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import refresh_export

from gemini_qa_tuning.dataset import DatasetSettings, export_refreshed, refresh_examples


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def cases(data_dir: Path | None) -> dict[str, DatasetSettings]:
    squad = refresh_export.SQUAD_SAMPLE
    chosen: dict[str, DatasetSettings] = {"packaged_sample": DatasetSettings(source_kind="sample")}
    if squad.exists():
        for seed in (0, 7):
            for group_by in ("title", "context"):
                chosen[f"squad_sample_seed{seed}_{group_by}"] = DatasetSettings(
                    source_kind="squad_json", source_uri=str(squad), seed=seed, group_by=group_by
                )
    if data_dir is not None:
        train, test = data_dir / "train.jsonl", data_dir / "test.jsonl"
        if not train.exists():
            refresh_export.write_synthetic_jsonl(train, refresh_export.MAX_TRAIN_EXAMPLES, "t", seed=1)
            refresh_export.write_synthetic_jsonl(test, refresh_export.MAX_TEST_EXAMPLES, "d", seed=2)
        chosen["vertex_maximum"] = DatasetSettings(
            source_kind="jsonl", source_uri=str(train), test_source_uri=str(test)
        )
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where to write the digests (JSON)")
    parser.add_argument("--compare", type=Path, help="digests of an earlier run: exit 1 when any differs")
    parser.add_argument("--data-dir", type=Path, help="keep the generated 1 M input here between runs")
    parser.add_argument("--skip-max", action="store_true", help="leave the 1 M case out")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="dataset-digests-"))
    data_dir = None if args.skip_max else (args.data_dir or scratch / "input")
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}
    try:
        for name, settings in cases(data_dir).items():
            out = scratch / name
            exported = export_refreshed(refresh_examples(settings), str(out), epochs=1, price_per_million_tokens=8.0)
            result[name] = {
                "fingerprint": exported.fingerprint,
                "counts": exported.counts.to_json(),
                "files": digest_tree(out),
            }
            shutil.rmtree(out)
            print(f"{name}: {exported.fingerprint}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    args.output.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    if args.compare is None:
        return 0
    earlier = json.loads(args.compare.read_text())
    differing = sorted(name for name in result.keys() | earlier.keys() if result.get(name) != earlier.get(name))
    print("identical" if not differing else f"DIFFERENT: {', '.join(differing)}")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
