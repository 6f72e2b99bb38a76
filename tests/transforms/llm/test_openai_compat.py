"""The OpenAI-compatible handler against a real local HTTP server that fails on purpose."""

from __future__ import annotations


import pytest

from prefmill.transforms.llm import LLMRequest, SamplingParams, request_key
from prefmill.transforms.llm.openai_compat import OpenAICompatibleHandler, OpenAIOptions

from llm_server import FakeLLMServer


def requests(n: int, model: str = "m") -> list[LLMRequest]:
    return [LLMRequest(prompt_id=f"p{i}", model=model, messages=[{"role": "user", "content": f"question {i}"}],
                       params=SamplingParams(max_tokens=16)) for i in range(n)]


def handler(server: FakeLLMServer, **options) -> OpenAICompatibleHandler:
    base = {"base_url": server.url, "backoff_base_s": 0.01, "backoff_max_s": 1.0, "timeout_s": 2.0}
    h = OpenAICompatibleHandler(model_id="tiny-model", options=OpenAIOptions(**{**base, **options}))
    h.model = h.load_model()
    return h


def run(h, batch):
    return list(h.run_inference(batch, h.model))


def test_results_come_back_in_request_order_with_usage():
    with FakeLLMServer(latency_s=0.0) as server:
        h = handler(server, max_concurrency=8)
        batch = requests(20)
        out = run(h, batch)
    assert [r.request.prompt_id for r in out] == [f"p{i}" for i in range(20)]
    assert all(r.ok and r.text.startswith(f"Answer to: question {i}") for i, r in enumerate(out))
    assert out[0].finish_reason == "stop" and out[0].completion_tokens > 0 and out[0].prompt_tokens == 2


def test_429_with_retry_after_is_honoured_then_succeeds():
    with FakeLLMServer(behave=lambda i, body, attempt: "429" if attempt < 2 else "ok", retry_after="0.3") as server:
        waits = []

        async def recorded_sleep(seconds):  # the handler's injectable sleep: no wall clock in the test
            waits.append(seconds)

        base = {"base_url": server.url, "backoff_base_s": 0.01, "backoff_max_s": 1.0, "timeout_s": 2.0}
        h = OpenAICompatibleHandler(model_id="tiny-model", options=OpenAIOptions(**base), sleep=recorded_sleep)
        h.model = h.load_model()
        (response,) = run(h, requests(1))
    assert response.ok and response.attempts == 3
    assert [w for w in waits if w > 0] == [0.3, 0.3]  # two Retry-After waits, not the 0.01 s backoff


@pytest.mark.parametrize("behaviour,reason_text", [
    ("500", "HTTP 500"), ("malformed", "malformed response"), ("drop", "connection error"), ("timeout", "timed out"),
])
def test_transient_failures_are_retried(behaviour, reason_text):
    with FakeLLMServer(behave=lambda i, body, attempt: behaviour if attempt == 0 else "ok", hang_s=3) as server:
        h = handler(server, timeout_s=0.5)
        (response,) = run(h, requests(1))
        assert response.ok and response.attempts == 2
        assert server.requests[0]["behaviour"] == behaviour


def test_persistent_failure_becomes_an_error_response_not_an_exception():
    with FakeLLMServer(behave=lambda i, body, attempt: "500") as server:
        h = handler(server, max_retries=3)
        out = run(h, requests(3))
        assert len(server.requests) == 12  # 3 requests x (1 try + 3 retries)
    assert all(not r.ok and r.status == 500 and r.attempts == 4 and "HTTP 500" in r.error for r in out)


def test_client_errors_are_not_retried():
    with FakeLLMServer(behave=lambda i, body, attempt: "400") as server:
        (response,) = run(handler(server, max_retries=5), requests(1))
        assert len(server.requests) == 1
    assert response.status == 400 and not response.ok


def test_concurrency_limit_is_respected():
    with FakeLLMServer(latency_s=0.05) as server:
        run(handler(server, max_concurrency=4), requests(24))
        assert server.max_in_flight <= 4
        assert server.max_in_flight >= 3  # and it is actually used


def test_requests_per_minute_limit_is_respected():
    with FakeLLMServer() as server:
        run(handler(server, requests_per_minute=600, max_concurrency=16), requests(15))
        times = sorted(r["time"] for r in server.requests)
    # 600/min = 10/s with a burst of 10: 15 requests need at least ~0.5 s
    assert times[-1] - times[0] >= 0.4


def test_api_key_comes_from_the_environment_and_never_into_errors(monkeypatch):
    monkeypatch.setenv("PREFMILL_TEST_KEY", "sk-very-secret")
    with FakeLLMServer(behave=lambda i, body, attempt: "500") as server:
        out = run(handler(server, api_key_env="PREFMILL_TEST_KEY", max_retries=0), requests(1))
        assert server.requests[0]["auth"] == "Bearer sk-very-secret"
    assert "sk-very-secret" not in repr(out[0])


def test_structured_output_and_seed_per_sample_are_sent():
    with FakeLLMServer() as server:
        batch = requests(2)
        for i, r in enumerate(batch):
            r.params = SamplingParams(seed=10, json_schema={"type": "object"})
            r.sample_index = i
        run(handler(server), batch)
        bodies = [r["body"] for r in server.requests]
    assert sorted(b["seed"] for b in bodies) == [10, 11]
    assert bodies[0]["response_format"]["json_schema"]["schema"] == {"type": "object"}


def test_cache_serves_finished_requests(tmp_path):
    with FakeLLMServer() as server:
        h = OpenAICompatibleHandler(model_id="tiny-model", options=OpenAIOptions(base_url=server.url),
                                    cache_path=str(tmp_path / "cache"))
        h.model = h.load_model()
        first = run(h, requests(5))
        second = run(h, requests(5))
        assert len(server.requests) == 5
    assert [r.text for r in first] == [r.text for r in second]
    assert all(r.cached for r in second) and not any(r.cached for r in first)
    key = request_key("tiny-model", first[0].request.messages, first[0].request.params, 0)
    assert key == first[0].request.key


def test_generated_candidates_carry_model_params_usage_and_policy_flag():
    from prefmill.schemas import Message, Prompt, PromptCandidates
    from prefmill.transforms.generate import candidate_from, requests_for
    from prefmill.transforms.llm.registry import model_spec

    pc = PromptCandidates(prompt=Prompt(id="p", messages=[Message(role="user", content="hi")]))
    spec = model_spec({"name": "pol", "backend": "openai", "model": "m", "n": 2, "policy": True})
    with FakeLLMServer() as server:
        h = handler(server)
        out = run(h, requests_for(pc, spec))
    candidates = [candidate_from(r) for r in out]
    assert [c.sample_index for c in candidates] == [0, 1] and candidates[0].id != candidates[1].id
    assert all(c.model == "pol" and c.metadata["policy"] is True and c.usage.completion_tokens for c in candidates)
    assert candidates[0].sampling_params["temperature"] == 0.7 and candidates[0].finish_reason == "stop"


def _samples(prompts: int, n: int) -> list[LLMRequest]:
    return [LLMRequest(prompt_id=f"p{i}", model="m", messages=[{"role": "user", "content": f"question {i}"}],
                       params=SamplingParams(max_tokens=16, seed=7), sample_index=s)
            for i in range(prompts) for s in range(n)]


def test_samples_of_one_prompt_share_a_request_and_match_single_requests():
    with FakeLLMServer() as server:
        single = run(handler(server), _samples(3, 4))
        one_each = len(server.requests)
        grouped = run(handler(server, samples_per_request=4), list(reversed(_samples(3, 4))))
        bodies = [r["body"] for r in server.requests[one_each:]]
    assert one_each == 12 and len(bodies) == 3 and {(b["n"], b["seed"]) for b in bodies} == {(4, 7)}
    # same texts as one request per sample (a seeded server), back in the caller's order
    assert [r.text for r in reversed(grouped)] == [r.text for r in single]
    assert len({r.text for r in single}) == 12


def test_a_server_ignoring_n_fails_clearly_without_retries():
    with FakeLLMServer() as server:
        honours_n = server._reply  # emulate a server that answers one choice whatever n asks for
        server._reply = lambda http, body, key, behaviour: honours_n(http, {**body, "n": 1}, key, behaviour)
        out = run(handler(server, samples_per_request=2), _samples(1, 2))
        assert len(server.requests) == 1
    assert all(not r.ok and "samples_per_request: 1" in r.error for r in out)


def test_group_mode_answers_whole_groups_in_order_with_their_owner():
    from prefmill.transforms.llm import RequestGroup
    from prefmill.transforms.llm.requests import group_weight

    with FakeLLMServer(latency_s=0.0) as server:
        h = handler(server, max_concurrency=4)
        grouped = h.for_groups()
        grouped.model = h.model
        pool = requests(5)
        batch = [RequestGroup("first", pool[:3]), RequestGroup("empty", []), RequestGroup("last", pool[3:])]
        out = run(grouped, batch)
        assert len(server.requests) == 5
    assert [g.owner for g in out] == ["first", "empty", "last"]
    assert [[r.request.prompt_id for r in g.responses] for g in out] == [["p0", "p1", "p2"], [], ["p3", "p4"]]
    assert all(r.ok for g in out for r in g.responses)
    # a batch is sized in requests, not groups (an empty group still weighs 1)
    assert grouped.batch_elements_kwargs()["element_size_fn"] is group_weight
    assert [group_weight(g) for g in batch] == [3, 1, 2]
    assert "element_size_fn" not in h.batch_elements_kwargs() and not h.grouped  # the original is unchanged


def test_group_mode_asks_again_only_for_unusable_answers_and_keeps_the_second():
    from prefmill.transforms.llm import RequestGroup

    def answer(body):
        content = body["messages"][-1]["content"]
        return "fixed" if content.endswith("(again)") else ("garbled" if "question 1" in content else "fine")

    def second_try(response):
        if response.text != "garbled":
            return None
        r = response.request
        return LLMRequest(prompt_id=r.prompt_id, model=r.model, params=r.params, sample_index=1,
                          messages=[{"role": "user", "content": r.messages[-1]["content"] + " (again)"}])

    with FakeLLMServer(answer=answer) as server:
        h = handler(server)
        grouped = h.for_groups(second_try)
        out = run(grouped, [RequestGroup("a", requests(3))])
        assert len(server.requests) == 3 + 1  # only the garbled one was asked again
    assert [r.text for r in out[0].responses] == ["fine", "fixed", "fine"]
    assert out[0].responses[1].request.sample_index == 1


def test_group_mode_turns_a_raising_backend_into_failed_answers_not_lost_groups():
    from prefmill.transforms.llm import RequestGroup

    class Crashing(OpenAICompatibleHandler):  # failure injection: the engine raises for the whole batch
        def generate(self, batch, model):
            raise RuntimeError("engine fell over")

    h = Crashing(model_id="m", options=OpenAIOptions(base_url="http://127.0.0.1:9")).for_groups()
    out = list(h.run_inference([RequestGroup("a", requests(2)), RequestGroup("b", requests(1))], None))
    assert [g.owner for g in out] == ["a", "b"]
    responses = [r for g in out for r in g.responses]
    assert len(responses) == 3 and not any(r.ok for r in responses)
    assert all(r.reason == "inference_error" and "engine fell over" in r.error for r in responses)
