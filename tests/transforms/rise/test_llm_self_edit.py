"""LLM self-editing through a real local OpenAI-compatible server scripted with good and bad edits, and
through the tiny transformers model: every edit lands in the right bucket and nothing crashes."""

from __future__ import annotations

import json
import re

import pytest

from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.dataset import run_query

from llm_server import FakeLLMServer
from support import SAMPLE

ROWS = {json.loads(line)["id"]: json.loads(line) for line in SAMPLE.read_text().splitlines()}


def bump_last_number(step: str) -> str:
    numbers = list(re.finditer(r"\d+", step))
    last = numbers[-1]
    return step[: last.start()] + str(int(last.group()) + 1) + step[last.end():]


# question keyword -> what the scripted model does with the step it is asked to edit
SCRIPT = {
    "muffins": ("accepted", bump_last_number),
    "train travels": ("reveals_error", lambda s: s + " (I made this a deliberate mistake.)"),
    "crayons": ("unchanged", lambda s: s),
    "15% of 240": ("multi_step", lambda s: s + "\nStep 7: Then we continue differently."),
    "tank holds": ("still_correct", lambda s: s.rstrip(".") + " exactly."),
    "3.75 hours": ("answer_unchanged", lambda s: s.replace("=", "gives").rstrip(".") + " indeed."),
}
PROMPTS = ["math-001", "math-002", "math-003", "math-004", "math-018", "math-019"]


def scripted_editor(body: dict) -> str:
    content = body["messages"][-1]["content"]
    step = content.split("Step to edit:\n", 1)[1].split("\n\nEdit instruction:", 1)[0]
    for keyword, (_, transform) in SCRIPT.items():
        if keyword in content:
            return f"Here you go.\n<edited_step>{transform(step)}</edited_step>"
    raise AssertionError("unscripted prompt")


def write_prompts(folder, ids):
    path = folder / "prompts.jsonl"
    path.write_text("".join(json.dumps(ROWS[i]) + "\n" for i in ids))
    return path


def config(tmp_path, model: dict, ids=PROMPTS):
    return validate_config({
        "input": {"path": str(write_prompts(tmp_path, ids))}, "output": {"uri": str(tmp_path / "ds")},
        "inject": {"enabled": True, "method": "llm", "model": model},
        "pairs": {"strategies": ["verified", "self_edit"]},
    })


def test_scripted_edits_land_in_their_buckets(tmp_path):
    with FakeLLMServer(answer=scripted_editor) as server:
        model = {"name": "policy", "backend": "openai", "model": "editor", "openai": {"base_url": server.url}}
        summary = run_config(config(tmp_path, model), progress=False)
        prompts = [r["body"]["messages"][0]["content"] for r in server.requests]
    inject = summary.stage("inject")
    expected = {reason for reason, _ in SCRIPT.values()} - {"accepted"}
    assert inject.reasons == {reason: 1 for reason in expected}
    assert (inject.extra["edits_attempted"], inject.extra["edits_accepted"]) == (6, 1)
    assert all("Do not mention, hint at or correct the error" in p for p in prompts)
    _, rows = run_query(summary.uri, "SELECT prompt_id, granularity, rejected_model, error_edit.token_distance "
                                     "FROM pairs WHERE pair_source = 'self_edit' ORDER BY granularity")
    assert rows == [("math-001", "solution", "atlas-70b+llm-edit", 1), ("math-001", "step", "atlas-70b+llm-edit", 1)]
    _, dead = run_query(summary.uri, "SELECT reason, record_id FROM dead_letters WHERE stage = 'inject'")
    assert sorted(r for r, _ in dead) == sorted(expected) and all(rid for _, rid in dead)


def test_self_edit_requests_are_cached_like_any_llm_call(tmp_path):
    with FakeLLMServer(answer=scripted_editor) as server:
        model = {"name": "policy", "backend": "openai", "model": "editor", "openai": {"base_url": server.url}}
        run_config(config(tmp_path, model), progress=False)
        run_config(config(tmp_path, model), progress=False)
        assert len(server.requests) == 6


def test_tiny_transformers_model_edits_are_discarded_with_reasons(tmp_path, tiny_model):
    model = {"name": "tiny", "backend": "transformers", "model": str(tiny_model),
             "sampling": {"temperature": 1.0, "max_tokens": 12, "seed": 0}}
    summary = run_config(config(tmp_path, model, ids=PROMPTS[:4]), progress=False)
    inject = summary.stage("inject")
    attempted = inject.extra["edits_attempted"]
    assert attempted == 4
    assert inject.extra.get("edits_accepted", 0) + sum(inject.reasons.values()) == attempted
    assert set(inject.reasons) <= {"too_far", "unparseable_edit", "multi_step", "reveals_error", "unchanged",
                                   "still_correct", "answer_unchanged", "unverifiable_edit"}
    assert summary.balanced

