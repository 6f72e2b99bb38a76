"""Regenerate sample_data/experiments.csv: past routing experiments for `prefmill route fit` (HyPER).

Each row is one (made-up, written for this project) experiment: how many pairs of each tag bin went to
human annotators, and the reward-model score the resulting dataset reached. The scores follow a concave
quadratic in the counts (human labels help, with diminishing returns, more on open-ended chat than on
near-duplicate responses), plus a little seeded noise, so the fitted model has an interior optimum.

    python sample_data/build_experiments.py && prefmill route fit sample_data/experiments.csv \\
        --out pipelines/configs/routing-model.json
"""

import csv
import random
from pathlib import Path

BINS = ["domain=chat", "open_ended=yes", "similarity=high", "complexity=multi", "safety_concern=yes"]
GAIN = {"domain=chat": 0.030, "open_ended=yes": 0.025, "similarity=high": 0.004, "complexity=multi": 0.020,
        "safety_concern=yes": 0.035}
CURVE = {"domain=chat": 0.00012, "open_ended=yes": 0.00010, "similarity=high": 0.00008, "complexity=multi": 0.00010,
         "safety_concern=yes": 0.00030}


def main() -> None:
    rng = random.Random(20261130)
    rows = []
    for _ in range(40):
        counts = {b: rng.randint(0, 200) for b in BINS}
        score = 62.0 + sum(GAIN[b] * n - CURVE[b] * n * n for b, n in counts.items()) + rng.gauss(0, 0.05)
        rows.append({**counts, "score": round(score, 3)})
    path = Path(__file__).with_name("experiments.csv")
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*BINS, "score"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} experiments to {path}")


if __name__ == "__main__":
    main()
