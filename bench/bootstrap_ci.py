"""How long the paired bootstrap behind every confidence interval takes on a large test set.

``compare_paired`` resamples the per-question score differences of two models; at Vertex's 5,000-question
evaluation sizes it runs once per comparison (tuned vs base, tuned vs champion) in the compare task.

Target: 3,000 questions x 2,000 resamples in < 1 s (best of ``--repeat``).

Run: ``.venv/bin/python bench/bootstrap_ci.py [--questions 3000] [--resamples 2000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import random
import time

from gemini_qa_tuning.evaluation.scoring import QuestionScore, compare_paired

TARGET_SECONDS = 1.0


def _scores(rng: random.Random, count: int, right_share: float) -> list[QuestionScore]:
    return [
        QuestionScore(exact_match=float(f1 == 1.0), f1=f1)
        for f1 in (1.0 if rng.random() < right_share else rng.choice([0.0, 0.4, 0.5, 0.8]) for _ in range(count))
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    rng = random.Random(3)
    tuned, base = _scores(rng, arguments.questions, 0.6), _scores(rng, arguments.questions, 0.55)
    timings = []
    for _ in range(arguments.repeat):
        started = time.perf_counter()
        compare_paired(tuned, base, resamples=arguments.resamples, seed=1)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    ok = best < TARGET_SECONDS
    print(
        f"paired bootstrap, {arguments.questions} questions x {arguments.resamples} resamples: {best:.3f} s "
        f"(target < {TARGET_SECONDS:.1f} s) {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
