"""The annotate stage end to end on a real FnApiRunner against a real local OpenAI-compatible server whose
annotators' answers the test controls: rationales for the label the data holds, blind votes in both orders,
retries of unreadable answers, dead letters, grounding in verifier evidence and planted errors, and every
action on a suspected label flip."""

from __future__ import annotations

import json

import pytest

from llm_server import FakeLLMServer
from prefmill.dataset import run_query
from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.schemas import ConfigError
from prefmill.transforms.annotate.prompts import RETRY_REMINDER

# Each prompt's right answer; one row's label is wrong on purpose (t3: the data prefers the wrong answer).
ROWS = [
    {"id": "t1", "prompt": "Name the capital of France.", "chosen": "Paris is the capital.", "rejected": "Lyon."},
    {"id": "t2", "prompt": "How many legs has a spider?", "chosen": "Eight legs.", "rejected": "Six legs."},
    {"id": "t3", "prompt": "What is the largest planet?", "chosen": "Mars, by far.", "rejected": "Jupiter is."},
    {"id": "t4", "prompt": "What colour is a ripe banana?", "chosen": "Yellow.", "rejected": "Blue, mostly."},
]
RIGHT = ("Paris", "Eight", "Jupiter", "Yellow")


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def annotator(body: dict) -> str:
    content, model = body["messages"][-1]["content"], body["model"]
    if "Response A:" in content:  # a blind comparison
        first = _between(content, "Response A:\n", "\n\nResponse B:")
        if model == "first-lover":  # position-biased: prefers whatever is shown first
            return json.dumps({"preference": -2, "reason": "A reads better"})
        if model == "flaky" and "spider" in content and RETRY_REMINDER not in content:
            return "Response A, I think."  # unreadable once, fine on the retry
        if model == "broken" and "banana" in content:
            return "I cannot decide."  # never readable
        better_first = any(word in first for word in RIGHT)
        return json.dumps({"preference": -2 if better_first else 2, "reason": "one is right"})
    chosen = _between(content, "Chosen response:\n", "\n\nRejected response:")
    grounded = "Facts (checked" in content
    return json.dumps({"rationale": f"The chosen response says {chosen!r}{' (grounded)' if grounded else ''}.",
                       "strength": 3 if grounded else 2, "justification": "it answers the question"})


def _entry(name: str, url: str) -> dict:
    return {"name": name, "backend": "openai", "model": name,
            "openai": {"base_url": url, "backoff_base_s": 0.01, "max_retries": 1}}


def _run(tmp_path, server, models, *, action="flag", rows=ROWS, extra=None, out="ds"):
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    raw = {"input": {"path": str(data), "layout": "trl", "label_source": "human"},
           "output": {"uri": str(tmp_path / out)}, "pairs": {"strategies": ["incoming"]},
           "annotate": {"enabled": True, "models": [_entry(m, server.url) for m in models],
                        "noise": {"action": action}},
           "generate": {"cache": {"enabled": False}}}
    raw.update(extra or {})
    summary = run_config(validate_config(raw), progress=False)
    return summary, _pairs(tmp_path / out)


def _pairs(uri) -> dict:
    columns, rows = run_query(str(uri), "SELECT prompt_id, chosen[1].content, rationale, strength, label_source, "
                                        "annotation, routing FROM pairs ORDER BY 1")
    return {r[0]: dict(zip(("chosen", "rationale", "strength", "label_source", "annotation", "routing"), r[1:]))
            for r in rows}


def test_rationales_votes_and_a_flagged_flip(tmp_path):
    with FakeLLMServer(answer=annotator) as server:
        summary, pairs = _run(tmp_path, server, ["judge-a", "judge-b"])
    for pid, pair in pairs.items():
        note = pair["annotation"]
        assert pair["label_source"] == "human" and pair["chosen"] == next(r["chosen"] for r in ROWS if r["id"] == pid)
        assert note["rationale_source"] == "llm" and note["model"] == "judge-a" and note["prompt_version"]
        assert pair["rationale"] == f"The chosen response says {pair['chosen']!r}." and pair["strength"] == 2
        assert [v["annotator"] for v in note["votes"]] == ["judge-a", "judge-b"] and note["position_consistent"]
        assert note["grounded"] is False  # a human label with no note: nothing checked to ground it in
    assert pairs["t3"]["annotation"]["suspected_flip"] and pairs["t3"]["annotation"]["action"] == "kept"
    assert pairs["t3"]["annotation"]["mean_margin"] == -2.0 and pairs["t3"]["annotation"]["label_agreement"] == 0.0
    assert not any(pairs[p]["annotation"]["suspected_flip"] for p in ("t1", "t2", "t4"))
    assert all(pairs[p]["annotation"]["label_agreement"] == 1.0 for p in ("t1", "t2", "t4"))
    assert summary.balanced and summary.stage("annotate").extra["suspected_flips"] == 1
    assert "annotate: 4 pairs, 4 LLM rationales; suspected label flips 1 (flag 1)" in summary.render()
    # each annotator: 2 blind requests per pair; the first also 1 rationale request
    assert len(server.requests) == 4 * 2 + 4 * 2 + 4


def test_position_bias_unreadable_answers_and_failures_lose_no_pair(tmp_path):
    with FakeLLMServer(answer=annotator) as server:
        summary, pairs = _run(tmp_path, server, ["judge-a", "first-lover", "flaky", "broken"])
    assert set(pairs) == {"t1", "t2", "t3", "t4"}
    biased = {p: next(v for v in pair["annotation"]["votes"] if v["annotator"] == "first-lover")
              for p, pair in pairs.items()}
    assert all(v["margin"] == 0.0 and v["position_consistent"] is False for v in biased.values())
    assert all(pair["annotation"]["position_consistent"] is False for pair in pairs.values())
    flaky = next(v for v in pairs["t2"]["annotation"]["votes"] if v["annotator"] == "flaky")
    assert flaky["margin"] == 2.0  # read on the second try
    assert summary.stage("annotate").extra["retries"] >= 2  # both orders of t2, then t4's two for `broken`
    dead = run_query(str(tmp_path / "ds"), "SELECT reason, record_id, payload FROM dead_letters ORDER BY 2")[1]
    assert [(r[0], r[1].split("/", 1)[1]) for r in dead] == [
        ("unparseable_annotation", "broken/blind-ab"), ("unparseable_annotation", "broken/blind-ba")]
    assert all("I cannot decide." in r[2] for r in dead)  # the raw answer is kept
    assert not any(v["annotator"] == "broken" for v in pairs["t4"]["annotation"]["votes"])


@pytest.mark.parametrize("action", ["drop", "flip"])
def test_a_suspected_flip_dropped_or_flipped(tmp_path, action):
    with FakeLLMServer(answer=annotator) as server:
        summary, pairs = _run(tmp_path, server, ["judge-a", "judge-b"], action=action)
    if action == "drop":
        assert set(pairs) == {"t1", "t2", "t4"}
        dead = run_query(str(tmp_path / "ds"), "SELECT stage, reason, record_id FROM dead_letters")[1]
        assert [(d[0], d[1]) for d in dead] == [("annotate", "suspected_flip")]
        assert summary.stage("annotate").dead == 1 and summary.balanced
    else:
        t3 = pairs["t3"]
        assert t3["chosen"] == "Jupiter is." and t3["label_source"] == "ai" and t3["strength"] is None
        assert t3["annotation"]["action"] == "flipped" and t3["annotation"]["label_agreement"] == 1.0
        assert t3["rationale"].startswith("Relabelled: 2 vote(s) preferred this response")


def test_suspected_flips_go_to_humans_first_under_the_budget(tmp_path):
    route = {"route": {"enabled": True, "policy": "uncertainty", "budget": 1}}
    with FakeLLMServer(answer=annotator) as server:
        _, pairs = _run(tmp_path, server, ["judge-a", "judge-b"], action="human_first", extra=route)
    humans = [p for p, pair in pairs.items() if pair["routing"]["decision"] == "human"]
    assert humans == ["t3"] and pairs["t3"]["annotation"]["action"] == "human_first"


def test_rationales_are_grounded_in_verifier_evidence_and_planted_errors(tmp_path):
    rows = [{"id": "m1", "domain": "math", "prompt": "What is 6 * 7?", "reference": {"answer": "42"},
             "candidates": [{"model": "a", "text": "Step 1: 6 * 7 = 42.\nStep 2: The answer is \\boxed{42}."},
                            {"model": "b", "text": "Step 1: 6 * 7 = 48.\nStep 2: The answer is \\boxed{48}."}]}]
    data = tmp_path / "math.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeLLMServer(answer=annotator) as server:
        raw = {"input": {"path": str(data)}, "output": {"uri": str(tmp_path / "ds")},
               "inject": {"enabled": True, "method": "rule"},
               "pairs": {"strategies": ["verified", "self_edit"], "max_pairs_per_prompt": 4},
               "annotate": {"enabled": True, "models": [_entry("judge-a", server.url)], "blind_check": False}}
        run_config(validate_config(raw), progress=False)
        prompts = [r["body"]["messages"][-1]["content"] for r in server.requests]
    columns, rows = run_query(str(tmp_path / "ds"), "SELECT pair_source, rationale, annotation FROM pairs ORDER BY 1")
    assert rows and all(r[2]["grounded"] and r[1].endswith("(grounded).") for r in rows)
    assert any("A verifier checked both responses" in p and "42" in p for p in prompts)
    assert any("planted on purpose" in p for p in prompts)


def test_validate_refuses_annotation_that_would_do_nothing_or_cannot_work(tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps(ROWS[0]) + "\n")
    base = {"input": {"path": str(data), "layout": "trl"}, "output": {"uri": str(tmp_path / "ds")},
            "pairs": {"strategies": ["incoming"]}}
    with pytest.raises(ConfigError, match="annotate.models is empty"):
        validate_config({**base, "annotate": {"enabled": True}})
    local = {"name": "tiny", "backend": "transformers", "model": "x"}
    with pytest.raises(ConfigError, match=r"annotate.models.0 \('tiny'\): backend transformers cannot do structured"):
        validate_config({**base, "annotate": {"enabled": True, "models": [local]}})
    with pytest.raises(ConfigError, match="human_first sends suspected flips to humans"):
        validate_config({**base, "annotate": {"enabled": True, "models": [_entry("a", "http://127.0.0.1:1/v1")],
                                              "noise": {"action": "human_first"}}})
    with pytest.raises(ConfigError, match="incoming, which needs preference data in"):
        validate_config({**base, "input": {"path": str(data)}})
