"""One bad row never ends a run: a 50,000-line file mixing good rows with every kind of bad row."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from prefmill.dataset import run_query

from support import run_cli_measured

BAD_ROWS = {
    "invalid_unicode": ['{"id": "sur-\\ud83d", "prompt": "hi", "domain": "chat"}',
                        '{"id": "s2", "prompt": "hi \\udc00 there", "domain": "chat"}',
                        '{"id": "s3", "prompt": "hi", "domain": "chat", "candidates": ["a \\ud83d b"]}'],
    "too_deep": ['{"id": "deep", "prompt": ' + "[" * 10_000 + "]" * 10_000 + "}"],
    "number_too_large": ['{"id": "huge", "prompt": "x", "n": ' + "9" * 5_000 + "}"],
    "malformed_json": ['{"id": "broken", "prompt": '],
    "invalid_utf8": [b'{"id": "latin", "prompt": "caf\xe9"}'.decode("latin-1")],
}


def _good(i: int, rng: random.Random) -> str:
    a, b = rng.randint(1, 99), rng.randint(1, 99)
    return json.dumps({"id": f"m{i}", "domain": "math", "prompt": f"What is {a} + {b}?",
                       "reference": {"answer": str(a + b)},
                       "candidates": [{"model": "strong", "text": f"The answer is {a + b}."},
                                      {"model": "weak", "text": f"The answer is {a + b + 1}."}]})


@pytest.mark.slow
def test_fifty_thousand_lines_with_every_kind_of_bad_row(tmp_path):
    rng = random.Random(0)
    path = tmp_path / "mixed.jsonl"
    good, bad = 0, 0
    with path.open("wb") as out:
        for i in range(49_000):
            out.write(_good(i, rng).encode() + b"\n")
            good += 1
            if i % 1000 == 500:
                for rows in BAD_ROWS.values():
                    for row in rows:
                        out.write(row.encode("latin-1") + b"\n")
                        bad += 1
        out.write(b"\xef\xbb\xbf" + _good(10**6, rng).encode() + b"\n")  # a BOM at the start of a line: fine
        good += 1
        out.write(b'{"id": "big", "prompt": "' + b"x" * 10_000_000 + b'"}\n')  # 10 MB: row_too_large
        bad += 1
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"input": {"path": str(path)}, "output": {"uri": str(tmp_path / "ds")}}))
    done, peak_mib = run_cli_measured(["run", str(config), "--no-progress"])
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"rows in {good + bad:,} = rows out {good:,} + dead-lettered {bad:,} (balanced)" in done.stdout
    uri = str(tmp_path / "ds")
    assert run_query(uri, "SELECT count(DISTINCT prompt_id) FROM pairs")[1] == [(good,)]
    reasons = dict(run_query(uri, "SELECT reason, count(*) FROM dead_letters WHERE stage = 'read' GROUP BY ALL")[1])
    assert reasons == {"invalid_unicode": 3 * 49, "too_deep": 49, "number_too_large": 49, "malformed_json": 49,
                       "invalid_utf8": 49, "row_too_large": 1}
    biggest = run_query(uri, "SELECT max(length(payload)) FROM dead_letters")[1][0][0]
    assert biggest < 70_000  # the 10 MB row is kept as a prefix with its size and hash
    assert peak_mib < 1536, f"peak {peak_mib:.0f} MiB"  # the streaming bound measured at 1M prompts (1.36 GiB)
