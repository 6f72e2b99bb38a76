"""The README's "Extending prefmill" examples, built from the README's own code blocks: a package with a
backend, a verifier, a pair strategy and an export format, registered through entry points, then used by
`prefmill validate`, `prefmill run` and `prefmill export` in a fresh process (as an installed plugin is)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib

import pyarrow.parquet as pq

from support import REPO

EXAMPLE = re.compile(r"<!-- example: (\S+) -->\s*```(?:python|toml)\n(.*?)```", re.S)

PROMPTS = [
    {"id": "c1", "domain": "trivia", "prompt": "Name the capital of France, please.", "reference": {"answer": "Paris"},
     "candidates": [
         {"model": "big", "text": "The capital of France is Paris, a city on the Seine known for its museums, cafes "
                                  "and the Eiffel Tower."},
         {"model": "small", "text": "Paris."},
         {"model": "tiny", "text": "I think it is Lyon."}]},
    {"id": "c2", "domain": "trivia", "prompt": "Which planet is called the red planet?", "reference": {"answer": "Mars"},
     "candidates": [
         {"model": "big", "text": "Mars is called the red planet because iron oxide dust covers its surface."},
         {"model": "small", "text": "Jupiter."}]},
]


def build_package(root) -> dict[str, str]:
    blocks = dict(EXAMPLE.findall((REPO / "README.md").read_text()))
    assert {"prefmill_examples/echo.py", "prefmill_examples/phrase.py", "prefmill_examples/concise.py",
            "prefmill_examples/text_pairs.py", "entry-points"} <= set(blocks)
    (root / "prefmill_examples").mkdir()
    (root / "prefmill_examples" / "__init__.py").write_text("")
    for name, code in blocks.items():
        if name.endswith(".py"):
            (root / name).write_text(code)
    # what `pip install` writes for the package's entry points
    info = root / "prefmill_examples-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: prefmill-examples\nVersion: 0.1\n")
    groups = tomllib.loads(blocks["entry-points"])["project"]["entry-points"]
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()) + "\n"
        for group, points in groups.items()))
    return groups


def prefmill(args, root, cwd):
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, "-m", "prefmill.pipelines.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_the_readme_extension_examples_build_and_run(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    groups = build_package(root)
    assert set(groups) == {"prefmill.backends", "prefmill.verifiers", "prefmill.pair_strategies",
                           "prefmill.export_formats"}
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS))
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({
        "input": {"path": str(data)}, "output": {"uri": str(tmp_path / "ds")},
        "generate": {"mode": "both", "models": [{"name": "echoer", "backend": "echo", "model": "none",
                                                 "echo": {"prefix": "You asked: "}}]},
        "pairs": {"strategies": ["verified", "concise"], "max_pairs_per_prompt": 4},
        # worker processes unpickle the echo handler without the registry imported first
        "runner": {"direct_num_workers": 2, "direct_running_mode": "multi_processing", "small_input_rows": 0}}))

    for module in ("echo", "phrase", "concise", "text_pairs"):  # each imports alone, in a fresh process
        alone = subprocess.run([sys.executable, "-c", f"import prefmill_examples.{module}"], capture_output=True,
                               text=True, env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
        assert alone.returncode == 0, alone.stderr[-1500:]
    checked = prefmill(["validate", str(config)], root, tmp_path)
    assert checked.returncode == 0, checked.stderr
    ran = prefmill(["run", str(config), "--no-progress"], root, tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    out = prefmill(["sql", str(tmp_path / "ds"), "SELECT pair_source, prompt_id, chosen[1].content AS chosen_text, rejected_model "
                    "FROM pairs ORDER BY 1, 2", "--format", "json"], root, tmp_path)
    rows = json.loads(out.stdout)
    concise = [r for r in rows if r["pair_source"] == "concise"]
    verified = [r for r in rows if r["pair_source"] == "verified"]
    assert [(r["prompt_id"], r["chosen_text"], r["rejected_model"]) for r in concise] == [("c1", "Paris.", "big")]
    assert {r["prompt_id"] for r in verified} == {"c1", "c2"}  # the phrase verifier decided them
    # the echo backend answered every prompt: its candidate repeats the prompt, which holds no answer phrase
    echoed = prefmill(["sql", str(tmp_path / "ds"), "SELECT count(*) AS n FROM pairs WHERE rejected_model = 'echoer'",
                       "--format", "json"], root, tmp_path)
    assert json.loads(echoed.stdout)[0]["n"] >= 1

    exported = prefmill(["export", str(tmp_path / "ds"), "--format", "text-pairs", "--out", str(tmp_path / "x")],
                        root, tmp_path)
    assert exported.returncode == 0, exported.stderr
    table = pq.read_table(tmp_path / "x" / "train.parquet")
    assert table.column_names == ["prompt", "chosen", "rejected"] and table.num_rows == len(rows)
    assert str(table.schema.field("chosen").type) == "string"

    config.write_text(json.dumps({"input": {"path": str(data)}, "output": {"uri": str(tmp_path / "ds2")},
                                  "verify": {"enabled": False}, "pairs": {"strategies": ["concise"]}}))
    idle = prefmill(["validate", str(config)], root, tmp_path)
    assert idle.returncode == 2 and "concise, which needs verify.enabled: true" in idle.stderr

    # the plugins are part of the data's identity: in the config hash and the commit metadata
    meta = prefmill(["versions", str(tmp_path / "ds"), "--format", "json"], root, tmp_path)
    assert meta.returncode == 0, meta.stderr
    from prefmill.dataset.delta import version_info
    from prefmill.dataset.layout import DatasetPaths

    plugins = version_info(DatasetPaths.of(str(tmp_path / "ds")).table("pairs")).metadata["plugins"]
    assert any(p.startswith("prefmill.verifiers:phrase = prefmill_examples.phrase:VERIFIER") for p in plugins)


def test_a_plugin_may_not_replace_a_built_in_nor_pass_as_another_strategy(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    build_package(root)
    (root / "prefmill_examples" / "sly.py").write_text(
        "from prefmill.transforms.verify.verifier import Verifier\n"
        "from prefmill.transforms.pairs.strategy import PairStrategy\n"
        "from prefmill.transforms.pairs.verified import build as verified_build\n"
        "VERIFIER = Verifier('math', 'lenient', 'nothing', lambda ref: True, lambda p, c, cfg: None)\n"
        "STRATEGY = PairStrategy('sly', verified_build, lambda run: [], 'passes its pairs off as verified')\n")
    info = root / "prefmill_examples-0.1.dist-info" / "entry_points.txt"
    data = tmp_path / "math.jsonl"
    data.write_text((REPO / "sample_data" / "prompts.jsonl").read_text().splitlines()[0] + "\n")
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"input": {"path": str(data)}, "output": {"uri": str(tmp_path / "ds")}}))
    original = info.read_text()
    info.write_text(original + "[prefmill.verifiers]\nlenient = prefmill_examples.sly:VERIFIER\n")
    clash = prefmill(["validate", str(config)], root, tmp_path)
    assert clash.returncode == 2 and "plugin 'math' would replace an existing entry" in clash.stderr

    info.write_text(original + "[prefmill.pair_strategies]\nsly = prefmill_examples.sly:STRATEGY\n")
    config.write_text(json.dumps({"input": {"path": str(data)}, "output": {"uri": str(tmp_path / "ds")},
                                  "pairs": {"strategies": ["sly"]}}))
    ran = prefmill(["run", str(config), "--no-progress", "--allow-partial"], root, tmp_path)
    assert "pairs written 0" in ran.stdout or ran.returncode != 0, ran.stdout[-1500:]
    assert "stage_error" in ran.stdout  # the mislabelled pairs are refused, with the reason in the dead letter
