"""Paths and expectations shared by several test modules (tests/ is on pytest's pythonpath)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data" / "prompts.jsonl"
BAD_INPUT = REPO / "tests" / "data" / "bad_input.jsonl"


def bad_input_reasons() -> list[tuple[str, str]]:
    """(reason, record_id) of every dead letter tests/data/bad_input.jsonl gives with max_row_bytes=4096.

    Rows that fail before an id is known are named by file and line; the others by their id.
    """
    at = lambda line: f"{BAD_INPUT}:{line}"  # noqa: E731
    return [
        ("malformed_json", at(2)),
        ("missing_field", "no-prompt"),
        ("wrong_type", "bad-type"),
        ("empty_prompt", "empty"),
        ("duplicate_id", "ok-1"),
        ("invalid_utf8", at(7)),
        ("row_too_large", at(8)),
        ("not_an_object", at(9)),
        ("invalid_value", "bad-domain"),
        ("wrong_type", "bad-candidates"),
    ]
