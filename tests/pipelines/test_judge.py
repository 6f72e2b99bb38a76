"""The judge stage end to end on a real FnApiRunner against a real local OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest

from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.schemas import ConfigError
from prefmill.dataset import run_query
from prefmill.transforms.judge import ASPECTS, RETRY_REMINDER

from llm_server import FakeLLMServer
from support import SAMPLE

CHAT = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"domain": "chat"' in line][:4]
INTENT = {c["text"]: c["intended"] for row in CHAT for c in row["candidates"]}
SCORE = {"correct": 5, "wrong": 3, "off_format": 1}


def ratings_json(score: int) -> str:
    return json.dumps({a: {"rating": score, "rationale": f"{a} is {score}"} for a in ASPECTS})


def judge_answer(body: dict) -> str:
    content = body["messages"][-1]["content"]
    if body["model"] == "names-positions":  # pairwise, right, and speaks of the prompt's positions
        first = content.split("Response A:\n", 1)[1].split("\n\nResponse B:\n", 1)[0]
        second = content.split("\n\nResponse B:\n", 1)[1].split("\n\nReply with JSON only", 1)[0]
        better, worse = ("A", "B") if SCORE[INTENT[first]] >= SCORE[INTENT[second]] else ("B", "A")
        return json.dumps({"preferred": better, "rationale": f"Response {better} is clearer than Response {worse}."})
    if body["model"] == "always-first":  # pairwise, and biased: whichever response is shown first wins
        return json.dumps({"preferred": "A", "rationale": "A reads better"})
    if body["model"] == "lister":  # listwise: every response of the prompt in one request
        shown = content.split("\n\nReply with JSON only", 1)[0].split("\n\nResponse ")[1:]
        texts = [part.split(":\n", 1)[1] for part in shown]
        if "Response 1:" in content and CHAT[2]["prompt"] in content and RETRY_REMINDER not in content:
            return json.dumps({"responses": [json.loads(ratings_json(5))]})  # too few: retried once
        return json.dumps({"responses": [json.loads(ratings_json(SCORE[INTENT[t]])) for t in texts]})
    response = content.split("Response to rate:\n", 1)[1].split("\n\nReply with JSON only", 1)[0]
    score = SCORE[INTENT[response]]
    if body["model"] == "flaky" and CHAT[0]["prompt"] in content and RETRY_REMINDER not in content:
        return "Sure! Here are my ratings: helpfulness 5, honesty 5"  # unparseable once, fixed on retry
    if body["model"] == "broken" and CHAT[1]["prompt"] in content:
        return "I would rate this response highly."  # never parseable
    if body["model"] == "generous":
        score = min(5, score + 1)
    return ratings_json(score)


def write_prompts(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in CHAT))
    return path


def run(tmp_path, server, judges, mode="pointwise", **pairs):
    models = [{"name": j, "backend": "openai", "model": j, "openai": {"base_url": server.url, "backoff_base_s": 0.01},
               "sampling": {"temperature": 0.0}} for j in judges]
    return run_config(validate_config({
        "input": {"path": str(write_prompts(tmp_path))}, "output": {"uri": str(tmp_path / "ds")},
        "judge": {"enabled": True, "mode": mode, "models": models},
        "pairs": {"strategies": ["judged"], **pairs},
    }), progress=False)


def test_two_judges_rate_with_structured_output_and_agree(tmp_path):
    with FakeLLMServer(answer=judge_answer) as server:
        summary = run(tmp_path, server, ["strict", "generous"], judged_rejected="lowest")
        bodies = [r["body"] for r in server.requests]
    assert len(bodies) == 4 * 3 * 2  # prompts x candidates x judges
    assert all(b["response_format"]["json_schema"]["schema"]["required"] == ASPECTS for b in bodies)
    _, rows = run_query(summary.uri, "SELECT chosen[1].content, rejected[1].content, chosen_score, rejected_score, "
                                     "margin, strength, label_source, judge.judges, judge.agreement FROM pairs")
    assert len(rows) == 4
    for chosen, rejected, cs, rs, margin, strength, label, judges, agreement in rows:
        assert INTENT[chosen] == "correct" and INTENT[rejected] == "off_format"
        # strict: 5 vs 1; generous: +1 capped at 5, so 5 vs 2
        assert (cs, rs, margin, strength, label, judges, agreement) == (5.0, 1.5, 3.5, 3, "ai", ["generous", "strict"], 1.0)


def test_unparseable_judgment_is_retried_once_then_dead_lettered_with_the_raw_text(tmp_path):
    with FakeLLMServer(answer=judge_answer) as server:
        summary = run(tmp_path, server, ["flaky"])
        flaky_retries = [r for r in server.requests if RETRY_REMINDER in r["body"]["messages"][-1]["content"]]
    assert len(flaky_retries) == 3  # the 3 candidates of the first prompt, asked once more
    assert summary.stage("judge").extra["retries"] == 3
    assert summary.stage("pairs").emitted == 4  # the retry fixed them: every prompt still gets its pair
    with FakeLLMServer(answer=judge_answer) as server:
        summary = run(tmp_path / "b", server, ["broken"])
    _, dead = run_query(summary.uri, "SELECT reason, payload FROM dead_letters WHERE stage = 'judge'")
    assert len(dead) == 3 and all(r == "unparseable_judgment" and "I would rate" in p for r, p in dead)
    _, rows = run_query(summary.uri, "SELECT DISTINCT prompt_id FROM pairs")
    assert CHAT[1]["id"] not in {r[0] for r in rows}  # never a silent rating of 1


def test_listwise_judge_rates_all_responses_in_one_call(tmp_path):
    with FakeLLMServer(answer=judge_answer) as server:
        summary = run(tmp_path, server, ["lister"], mode="listwise", judged_rejected="lowest")
        bodies = [r["body"] for r in server.requests]
    assert len(bodies) == 4 + 1  # one request per prompt, and one retry for the short answer
    assert all(b["response_format"]["json_schema"]["schema"]["required"] == ["responses"] for b in bodies)
    assert summary.stage("judge").extra["retries"] == 1
    _, rows = run_query(summary.uri, "SELECT chosen[1].content, rejected[1].content, chosen_score, rejected_score "
                                     "FROM pairs")
    assert len(rows) == 4
    assert all(INTENT[c] == "correct" and INTENT[r] == "off_format" and (cs, rs) == (5.0, 1.0)
               for c, r, cs, rs in rows)


def test_pairwise_judge_asks_both_orders_and_flags_position_bias(tmp_path):
    with FakeLLMServer(answer=judge_answer) as server:
        summary = run(tmp_path, server, ["always-first"], mode="pairwise", max_pairs_per_prompt=3)
        assert len(server.requests) == 4 * 3 * 2  # 3 candidate pairs x 2 orders per prompt
    _, rows = run_query(summary.uri, "SELECT judge.position_consistent, judge.low_confidence, strength FROM pairs")
    assert rows and all(row == (False, True, 1) for row in rows)


def test_a_judge_on_a_backend_without_structured_output_is_refused_at_validate_time(tmp_path, tiny_model):
    """transformers cannot constrain its answer to the judge's JSON schema: refused before any work, with the
    backends that can."""
    models = [{"name": "tiny", "backend": "transformers", "model": str(tiny_model),
               "sampling": {"temperature": 1.0, "max_tokens": 8, "seed": 0}}]
    with pytest.raises(ConfigError, match=r"judge.models.0 \('tiny'\): backend transformers cannot do "
                                          r"structured_output; use backend openai or vllm or openai_batch or "
                                          r"anthropic_batch"):
        validate_config({"input": {"path": str(write_prompts(tmp_path))}, "output": {"uri": str(tmp_path / "ds")},
                         "judge": {"enabled": True, "models": models}, "pairs": {"strategies": ["judged"]}})


def test_a_retry_request_is_exactly_the_second_attempt_the_judge_would_build():
    # the retry is derived from the failed request alone (no join with the prompt), and must match what
    # judge_requests builds for attempt 1, or a re-run would miss the cache
    from prefmill.transforms.llm.registry import model_spec
    from prefmill.transforms.judge import JudgeConfig, judge_requests, retry_request
    from prefmill.transforms.parse import field_map_for, parse_row

    pc = parse_row(CHAT[0], field_map_for("native"))
    spec = model_spec({"name": "j", "backend": "openai", "model": "j"})
    for mode in ("listwise", "pointwise", "pairwise"):
        config = JudgeConfig(enabled=True, mode=mode, models=[spec])
        first, second = judge_requests(pc, config, spec), judge_requests(pc, config, spec, attempt=1)
        assert len(first) == len(second) > 0
        for a, b in zip(first, second):
            again = retry_request(a)
            assert (again.messages, again.sample_index, again.tag, again.params) == (
                b.messages, b.sample_index, b.tag, b.params)


def test_an_unreachable_judge_is_a_connection_error_not_an_unparseable_judgment(tmp_path):
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    with FakeLLMServer(answer=judge_answer) as server:
        models = [{"name": "judge-up", "backend": "openai", "model": "judge-up", "sampling": {"temperature": 0.0},
                   "openai": {"base_url": server.url, "backoff_base_s": 0.01}},
                  {"name": "judge-down", "backend": "openai", "model": "judge-down", "sampling": {"temperature": 0.0},
                   "openai": {"base_url": dead_url, "backoff_base_s": 0.01, "max_retries": 1}}]
        summary = run_config(validate_config({
            "input": {"path": str(write_prompts(tmp_path))}, "output": {"uri": str(tmp_path / "ds")},
            "judge": {"enabled": True, "models": models}, "pairs": {"strategies": ["judged"]},
        }), progress=False)
        retries = [r for r in server.requests if RETRY_REMINDER in r["body"]["messages"][-1]["content"]]
    _, dead = run_query(summary.uri, "SELECT reason, count(*) FROM dead_letters WHERE stage = 'judge' GROUP BY ALL")
    assert dead == [("connection_error", 12)]  # 4 prompts x 3 candidates, for the judge that is down
    assert retries == []  # a failed request is not re-asked as if its answer were unreadable
    assert summary.stage("pairs").emitted == 4  # the judge that answered still labels every prompt


def test_pairwise_rationales_name_chosen_and_rejected_not_prompt_positions(tmp_path):
    with FakeLLMServer(answer=judge_answer) as server:
        summary = run(tmp_path, server, ["names-positions"], mode="pairwise")
    _, rows = run_query(summary.uri, "SELECT rationale FROM pairs")
    assert rows and all(r == ("The chosen response is clearer than the rejected response.",) for r in rows), rows
