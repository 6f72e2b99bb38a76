"""Peak resident memory of a process and all its descendants, sampled while it runs (Linux /proc).

A local Beam run spreads over several processes (the launcher, SDK workers in multi_processing mode, the
code sandbox's pre-forked workers, the sympy helper), so the figure that matters is the sum over the
whole process tree at each instant, and its peak over the run. Each process counts its proportional set
size (PSS), not its RSS: summing RSS would count pages that forked processes share several times.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return found


def _rss_bytes(pid: int) -> int:
    """Proportional set size: a page shared by n processes counts 1/n in each, so forked workers that
    share their parent's pages (the sandbox pool, SDK workers) are not counted twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def tree_rss(pid: int) -> int:
    """Proportional resident bytes of pid and every descendant, now."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += _rss_bytes(current)
        stack += _children(current)
    return total


def run_measured(command: list[str], *, interval: float = 0.2, env: dict | None = None) -> dict:
    """Run a command; return its exit code, wall seconds, peak tree PSS in bytes and its output."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    peak = [0]
    timeline: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            now = tree_rss(process.pid)
            peak[0] = max(peak[0], now)
            timeline.append((time.monotonic() - started, now))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0].decode("utf-8", errors="replace")
    done.set()
    sampler.join()
    return {"rc": process.returncode, "seconds": time.monotonic() - started, "peak_rss": peak[0], "output": output,
            "timeline": timeline}
