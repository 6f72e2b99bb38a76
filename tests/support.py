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


def run_cli_measured(args: list[str], timeout: float = 900, **kwargs):
    """Run `prefmill ARGS` in a fresh process; returns (CompletedProcess, that process's own peak RSS in MiB).

    The peak is VmHWM of the child's own address space. (RUSAGE_CHILDREN reports the largest child this test
    process ever waited for, and even the child's RUSAGE_SELF keeps the high-water mark of the test process
    it was forked from, folded in at exec.)"""
    import json as _json
    import subprocess
    import sys

    probe = ("import sys\n"
             "from prefmill.pipelines.cli import main\n"
             "try:\n    code = main(sys.argv[1:])\n"
             "finally:\n"
             "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
             "    sys.stderr.write('\\nPEAK_KIB=%s\\n' % hwm)\n"
             "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KIB=")]
    return done, (int(peak[-1].split("=")[1]) / 1024 if peak else float("nan"))
