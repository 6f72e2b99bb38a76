"""A small run's fixed cost, broken down, beside a bare `import apache_beam` in the same benchmark.

    python bench/startup.py [--repeat 5]

Each measurement runs in a fresh process, `--repeat` times; medians are printed:
- `python -c "import apache_beam"`: the floor any Beam tool pays;
- `python -c "import prefmill.pipelines.launcher"`: prefmill's imports;
- `prefmill run` of the quickstart on 1 prompt (no model), and of an LLM job on 1 prompt (4 generations
  in one request and a listwise judge call, against a local server with 200 ms per request, like
  bench/vs_distilabel.py's job), end to end, with the phases the run reports (its own `seconds`: the
  Beam job from construction to the committed version).
The goal of issue 22: a 1-prompt LLM job under 3 s and a 1-prompt quickstart under 2 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from generation import ServerProcess  # noqa: E402
from vs_distilabel import prefmill_config, write_prompts  # noqa: E402


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - started


def median(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} s (range {min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    python, prefmill = sys.executable, str(Path(sys.executable).parent / "prefmill")
    work = Path(tempfile.mkdtemp(prefix="prefmill-bench-startup-"))
    one = work / "one.jsonl"
    one.write_text(next(line for line in (REPO / "sample_data" / "prompts.jsonl").read_text().splitlines()
                        if '"domain": "math"' in line) + "\n")
    quickstart = yaml.safe_load((REPO / "pipelines" / "configs" / "quickstart.yaml").read_text())
    quickstart["input"]["path"] = str(one)
    results: dict[str, list[float]] = {k: [] for k in ("beam", "prefmill", "quickstart", "llm")}
    server = ServerProcess(0.2, answers="preference")
    try:
        prompts = write_prompts(work, 1)
        for i in range(args.repeat):
            results["beam"].append(timed([python, "-c", "import apache_beam"], work))
            results["prefmill"].append(timed([python, "-c", "import prefmill.pipelines.launcher"], work))
            config = work / f"quickstart{i}.yaml"
            config.write_text(yaml.safe_dump({**quickstart, "output": {"uri": str(work / f"qs{i}")}}))
            results["quickstart"].append(timed([prefmill, "run", str(config), "--no-progress"], work))
            config = work / f"llm{i}.yaml"
            config.write_text(yaml.safe_dump(prefmill_config(prompts, work / f"llm{i}", server.url, 32)))
            results["llm"].append(timed([prefmill, "run", str(config), "--no-progress"], work))
    finally:
        server.close()
    print(f"import apache_beam           : {median(results['beam'])}")
    print(f"import prefmill (launcher)   : {median(results['prefmill'])}")
    print(f"1-prompt quickstart          : {median(results['quickstart'])}  goal < 2 s")
    print(f"1-prompt LLM job (2 requests): {median(results['llm'])}  goal < 3 s")
    base = statistics.median(results["beam"])
    print("as multiples of a bare Beam import: " + ", ".join(
        f"{name} {statistics.median(values) / base:.1f}x" for name, values in results.items() if name != "beam"))
    print(json.dumps({k: [round(v, 3) for v in vals] for k, vals in results.items()}))


if __name__ == "__main__":
    main()
