"""Every shipped recipe in pipelines/configs/ runs end to end against local stand-ins, with only its model
endpoints changed: each OpenAI-compatible `base_url` points at the test server on 127.0.0.1 (answering as
`llm_server.stand_in_model`), each transformers model is the tiny local one, and the storage paths point at
a temp folder (the bundled sample data in, a temp dataset out).

Batch API entries (`openai_batch`, `anthropic_batch`) point at the fake batch server instead, and poll it
every 20 ms instead of every 10 s (the interval is the one setting besides the endpoint that changes: a
real provider takes minutes).

vLLM cannot run on these machines, so a vLLM model entry is served by the test server too (its `vllm`
engine options dropped, its name, model id, n and sampling kept): the rest of the recipe (verification,
self-editing, pairs, routing) runs as shipped. The vLLM handler itself is checked elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.pipelines.summary import is_infrastructure
from prefmill.transforms.preference_in import PREFERENCE_LAYOUTS
from prefmill.dataset import run_query

from batch_server import FakeBatchServer
from llm_server import FakeLLMServer, stand_in_model
from tiny_model import TinyScorer
from support import REPO, SAMPLE

RECIPES = sorted((REPO / "pipelines" / "configs").glob("*.yaml"))


BATCH_BACKENDS = ("openai_batch", "anthropic_batch")


def _local(entry: dict, url: str, tiny_model: Path, batch_url: str = "") -> dict:
    """One model entry with its endpoint swapped for a local stand-in."""
    entry = dict(entry)
    if entry.get("backend") in BATCH_BACKENDS:
        block = entry["backend"]
        entry[block] = {**entry.get(block, {}), "base_url": batch_url, "poll_interval_s": 0.02,
                        "poll_max_interval_s": 0.02}
        return entry
    if entry.get("backend") == "vllm":  # a vLLM server: it scores too (the test server with the tiny model)
        entry["backend"] = "openai"
        entry.pop("vllm", None)
        entry["openai"] = {"scoring": True}
    if entry.get("backend", "openai") == "openai":
        entry["openai"] = {**entry.get("openai", {}), "base_url": url, "backoff_base_s": 0.01}
    elif entry["backend"] == "transformers":
        entry["model"] = str(tiny_model)
        entry["sampling"] = {**entry.get("sampling", {}), "max_tokens": 16}  # a random model: short is enough
    return entry


def localised(raw: dict, url: str, tiny_model: Path, out: Path, batch_url: str = "") -> dict:
    # prompts recipes read the sample prompts; preference recipes their own file (resolved in the repository)
    path = str(REPO / raw["input"]["path"]) if raw["input"].get("layout") in PREFERENCE_LAYOUTS else str(SAMPLE)
    raw = {**raw, "input": {**raw["input"], "path": path}, "output": {**raw["output"], "uri": str(out)}}
    raw.pop("runner", None)  # Dataflow machine settings: the local runner's defaults instead
    if "generate" in raw and raw["generate"].get("models"):
        raw["generate"] = {**raw["generate"], "models": [_local(m, url, tiny_model, batch_url) for m in raw["generate"]["models"]]}
        if not any(m.get("backend") in BATCH_BACKENDS for m in _llm_entries(raw)):  # batch ids live in the cache
            raw["generate"]["cache"] = {"enabled": False}
    if raw.get("judge", {}).get("models"):
        raw["judge"] = {**raw["judge"], "models": [_local(m, url, tiny_model, batch_url) for m in raw["judge"]["models"]]}
    if raw.get("inject", {}).get("model"):
        raw["inject"] = {**raw["inject"], "model": _local(raw["inject"]["model"], url, tiny_model, batch_url)}
    if raw.get("route", {}).get("tagger"):
        raw["route"] = {**raw["route"], "tagger": _local(raw["route"]["tagger"], url, tiny_model, batch_url)}
    if raw.get("annotate", {}).get("models"):
        raw["annotate"] = {**raw["annotate"], "models": [_local(m, url, tiny_model, batch_url) for m in raw["annotate"]["models"]]}
    if raw.get("density_ratio", {}).get("enabled"):
        raw["density_ratio"] = {**raw["density_ratio"], **{side: _local(raw["density_ratio"][side], url, tiny_model, batch_url)
                                                           for side in ("strong", "weak")}}
    if raw.get("route", {}).get("model_path"):
        raw["route"]["model_path"] = str(REPO / raw["route"]["model_path"])
    return raw


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_every_recipe_runs_against_local_stand_ins(recipe, tmp_path, tiny_model, monkeypatch):
    raw = yaml.safe_load(recipe.read_text())
    for entry in _llm_entries(raw):  # the keys the recipe names, as a user would export them
        for block in ("openai",) + BATCH_BACKENDS:
            if entry.get(block, {}).get("api_key_env"):
                monkeypatch.setenv(entry[block]["api_key_env"], "sk-recipe-test")
    with FakeLLMServer(answer=stand_in_model, scorer=TinyScorer(tiny_model)) as server, FakeBatchServer() as batches:
        summary = run_config(validate_config(localised(raw, server.url, tiny_model, tmp_path / "ds", batches.url)),
                             progress=False)
    assert summary.pairs_version is not None, "the run was not committed"
    pairs = run_query(summary.uri, "SELECT pair_source, count(*) FROM pairs GROUP BY ALL ORDER BY 1")[1]
    sources = dict(pairs)
    assert sum(sources.values()) > 0
    # every strategy the recipe asks for produced pairs, and every LLM stage it turns on answered
    for strategy in raw.get("pairs", {}).get("strategies", ["verified"]):
        assert sources.get(strategy, 0) > 0, (strategy, sources)
    reasons = {reason for stage in summary.stages for reason in stage.reasons}
    assert not [r for r in reasons if is_infrastructure(r)], reasons
    if raw.get("judge", {}).get("enabled"):
        assert "unparseable_judgment" not in reasons
    if raw.get("route", {}).get("enabled"):
        assert summary.stage("route").rows_in > 0
    if any(m.get("backend") in ("openai", "vllm") for m in _llm_entries(raw)):
        assert server.served_ok, "no request reached the stand-in server"
    if any(m.get("backend") in BATCH_BACKENDS for m in _llm_entries(raw)):
        assert batches.submitted and max(batches.submitted.values()) == 1, "batch requests: none, or some twice"
        assert set(batches.auth) == {"Bearer sk-recipe-test", "sk-recipe-test"}  # both providers, their headers


def _llm_entries(raw: dict) -> list[dict]:
    entries = list(raw.get("generate", {}).get("models", [])) + list(raw.get("judge", {}).get("models", []))
    entries += [m for m in (raw.get("inject", {}).get("model"), raw.get("route", {}).get("tagger")) if m]
    entries += [m for m in (raw.get("density_ratio", {}).get(side) for side in ("strong", "weak")) if m]
    entries += list(raw.get("annotate", {}).get("models", []))
    return entries
