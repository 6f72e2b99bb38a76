"""Verification throughput, measured side by side in one run.

    python bench/verify.py [--math N] [--latex N] [--programs N]

1. Math, one core: verify_math on plain-number answers (boxed, ####, "the answer is", with thousands
   separators, fractions, percents), beside a bare loop that only does `float(last number) == float(ref)`.
   Goal: >= 5,000 verdicts/s. Then LaTeX answers (radicals, pi, polynomials, sets, intervals) through
   verify_math (Math-Verify in the time-bounded helper) beside Math-Verify's parse+verify called directly
   in this process. Goal: ratio >= 0.9.
2. Code, two cores: trivial programs through the sandbox (2 workers) beside the same programs spawned
   as bare, unsandboxed `python -c` processes (2 at a time). Goal: ratio >= 1.0. Also: one assert run
   through the separate judge process, and the same scripts in unsafe_local mode (what bubblewrap costs).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from prefmill.transforms.verify import Sandbox, verify_math
from prefmill.transforms.verify.symbolic import shared_checker


def plain_cases(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        value = rng.randint(-5000, 50000)
        right = rng.random() < 0.5
        shown = value if right else value + rng.choice([-2, -1, 1, 3, 10])
        style = i % 5
        if style == 0:
            text = f"Step 1: add them.\nStep 2: so we get {shown}.\nThe answer is {shown}."
        elif style == 1:
            text = f"Working...\n#### {shown:,}"
        elif style == 2:
            text = f"Therefore the total is \\boxed{{{shown}}}."
        elif style == 3:
            text = f"Half of {2 * shown} is {shown}. Answer: ${shown}"
        else:
            text = f"We end with {shown} apples."
        cases.append((text, str(value)))
    return cases


def latex_cases(n: int) -> list[tuple[str, str]]:
    """n LaTeX verdicts: references that need structure (radicals, polynomials, sets, intervals, pi), each
    checked against 4 candidate answers as a pipeline with n=4 samples per prompt would (2 right in other
    forms, 2 wrong)."""
    templates = [
        (lambda k: f"\\frac{{{k}}}{{\\sqrt{{2}}}}", [lambda k: f"\\boxed{{\\frac{{{k}\\sqrt{{2}}}}{{2}}}}",
         lambda k: f"\\boxed{{{k}\\cdot\\frac{{\\sqrt 2}}{{2}}}}", lambda k: f"\\boxed{{{k}\\sqrt{{2}}}}",
         lambda k: f"\\boxed{{\\frac{{{k + 1}}}{{\\sqrt{{2}}}}}}"]),
        (lambda k: f"x^2+{2 * k}x+{k * k}", [lambda k: f"\\boxed{{(x+{k})^2}}", lambda k: f"\\boxed{{(x+{k})(x+{k})}}",
         lambda k: f"\\boxed{{(x-{k})^2}}", lambda k: f"\\boxed{{x^2+{k * k}}}"]),
        (lambda k: f"\\{{{k},{k + 2}\\}}", [lambda k: f"\\boxed{{\\{{{k + 2}, {k}\\}}}}",
         lambda k: f"\\boxed{{\\{{{k}, {k + 2}\\}}}}", lambda k: f"\\boxed{{\\{{{k}, {k + 1}\\}}}}",
         lambda k: f"\\boxed{{\\{{{k}\\}}}}"]),
        (lambda k: f"[{k},{k + 3})", [lambda k: f"\\boxed{{[{k}, {k + 3})}}", lambda k: f"\\boxed{{\\left[{k},{k + 3}\\right)}}",
         lambda k: f"\\boxed{{({k}, {k + 3})}}", lambda k: f"\\boxed{{[{k}, {k + 3}]}}"]),
        (lambda k: f"{k}\\pi", [lambda k: f"\\boxed{{{k}\\pi}}", lambda k: f"\\boxed{{\\pi \\cdot {k}}}",
         lambda k: f"\\boxed{{{k + 1}\\pi}}", lambda k: f"\\boxed{{{k}}}"]),
    ]
    cases = []
    k = 1
    while len(cases) < n:
        for reference, candidates in templates:
            cases += [(candidate(k), reference(k)) for candidate in candidates]
        k += 1
    return cases[:n]


def naive_math(cases: list[tuple[str, str]]) -> int:
    hits = 0
    for text, reference in cases:
        numbers = re.findall(r"-?\d[\d,]*\.?\d*", text)
        if numbers and float(numbers[-1].replace(",", "")) == float(reference):
            hits += 1
    return hits


def bench_math(n: int, n_latex: int) -> None:
    cases = plain_cases(n)
    started = time.perf_counter()
    passed = sum(1 for text, ref in cases if verify_math(text, ref).passed)
    prefmill_s = time.perf_counter() - started
    started = time.perf_counter()
    naive_hits = naive_math(cases)
    naive_s = time.perf_counter() - started
    rate = n / prefmill_s
    print(f"math, plain numbers, 1 core: prefmill {rate:,.0f} verdicts/s ({passed} passed) | bare float-compare "
          f"loop {n / naive_s:,.0f}/s ({naive_hits} hits) | prefmill/bare time ratio {prefmill_s / naive_s:.1f}x | "
          f"goal >= 5,000/s: {'met' if rate >= 5000 else 'NOT met'}")

    import logging

    from math_verify import parse, verify

    logging.disable(logging.WARNING)
    latex = latex_cases(n_latex)
    for text, ref in latex_cases(40):  # both sides import and warm up on the first cases, outside the timing
        verify_math(text, ref)
        verify(parse(f"${ref}$"), parse(text))
    latex = latex[40:] if len(latex) > 80 else latex
    started = time.perf_counter()
    passed = sum(1 for text, ref in latex if verify_math(text, ref).passed)
    prefmill_s = time.perf_counter() - started
    started = time.perf_counter()
    direct = sum(1 for text, ref in latex if verify(parse(f"${ref}$"), parse(text)))
    direct_s = time.perf_counter() - started
    ratio = direct_s / prefmill_s
    n_latex = len(latex)
    print(f"math, LaTeX answers (4 candidates per reference), 1 core: prefmill {n_latex / prefmill_s:,.0f} verdicts/s "
          f"({passed}/{n_latex} passed) | math-verify called directly {n_latex / direct_s:,.0f}/s ({direct}/{n_latex}) | "
          f"ratio {ratio:.2f} | "
          f"goal >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'}")


def _rate(sandbox: Sandbox, pool: ThreadPoolExecutor, jobs: list, run) -> tuple[float, list]:
    list(pool.map(lambda j: run(sandbox, j), jobs[:4]))  # warm: the workers start outside the timing
    started = time.perf_counter()
    outputs = list(pool.map(lambda j: run(sandbox, j), jobs))
    return time.perf_counter() - started, outputs


def bench_code(n: int, workers: int = 2) -> None:
    """Sandbox runs/s beside bare `python -c` spawns, and what the OS boundary costs (bwrap vs unsafe_local)."""
    programs = [f"x = {i}\nprint(x * 2)" for i in range(n)]
    tested = [(f"def double(x):\n    return 2 * x\n", [f"assert double({i}) == {2 * i}"]) for i in range(n)]
    script = lambda box, p: box.run(p).stdout  # noqa: E731
    functions = lambda box, job: box.run(job[0], mode="functions", tests=job[1]).tests.get(0, {}).get("ok")  # noqa: E731
    with ThreadPoolExecutor(workers) as pool:
        boxed = Sandbox(workers=workers)
        sandbox_s, outputs = _rate(boxed, pool, programs, script)
        functions_s, oks = _rate(boxed, pool, tested, functions)
        boxed.close()
        local = Sandbox(workers=workers, isolation="unsafe_local")
        local_s, local_outputs = _rate(local, pool, programs, script)
        local.close()

        def spawn(program: str) -> str:
            return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30).stdout

        def spawn_tested(job) -> bool:
            program = job[0] + "\n" + "\n".join(job[1])
            return subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=30).returncode == 0

        started = time.perf_counter()
        spawned = list(pool.map(spawn, programs))
        spawn_s = time.perf_counter() - started
        started = time.perf_counter()
        spawned_ok = list(pool.map(spawn_tested, tested))
        spawn_tested_s = time.perf_counter() - started
    assert outputs == spawned == local_outputs, "sandbox and bare spawn disagree on trivial programs"
    assert all(oks) and all(spawned_ok), "a trivial tested program failed"
    ratio = spawn_s / sandbox_s
    print(f"code, trivial scripts, {workers} cores: sandbox (bubblewrap) {n / sandbox_s:,.0f} runs/s | bare "
          f"`python -c` spawn {n / spawn_s:,.0f} runs/s | ratio sandbox/bare {ratio:.2f} | goal >= 1.0: "
          f"{'met' if ratio >= 1.0 else 'NOT met'}")
    print(f"code, one assert through the separate judge, {workers} cores: sandbox {n / functions_s:,.0f} runs/s | "
          f"bare `python -c` (solution + assert) {n / spawn_tested_s:,.0f} runs/s | ratio {spawn_tested_s / functions_s:.2f}")
    print(f"cost of the boundary: unsafe_local {n / local_s:,.0f} runs/s vs bubblewrap {n / sandbox_s:,.0f} runs/s "
          f"(bubblewrap/unsafe_local {local_s / sandbox_s:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--math", type=int, default=20_000)
    parser.add_argument("--latex", type=int, default=200)
    parser.add_argument("--programs", type=int, default=300)
    args = parser.parse_args()
    bench_math(args.math, args.latex)
    bench_code(args.programs)


if __name__ == "__main__":
    main()
