"""Scoring, the same number in every backend: a real HTTP server on 127.0.0.1 that answers `/tokenize` and
echoed `/v1/completions` from the tiny model (tiny_model.TinyScorer, one unpadded sequence at a time) must
give the OpenAI-compatible handler the scores the transformers backend computes in padded batches; a server
that cannot score is refused at validate time, and fails its requests with a reason if it is reached."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from llm_server import FakeLLMServer  # noqa: E402
from tiny_model import TinyScorer  # noqa: E402

from prefmill.transforms.llm.hf_transformers import TransformersHandler  # noqa: E402
from prefmill.transforms.llm.openai_compat import OpenAICompatibleHandler  # noqa: E402
from prefmill.transforms.llm.options import OpenAIOptions, TransformersOptions  # noqa: E402
from prefmill.transforms.llm.registry import capability_problems, model_spec  # noqa: E402
from prefmill.transforms.llm.requests import LLMRequest, SamplingParams  # noqa: E402

PROMPTS = [[{"role": "user", "content": "How many crayons are left?"}],
           [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a prime above 10."}]]
TEXTS = ["There are 4 crayons left.", "Eleven.", "", "13 is prime, and so is 11; both are above 10."]


def _requests():
    return [LLMRequest(f"p{i}", "tiny", prompt, SamplingParams(), score_text=text)
            for i, prompt in enumerate(PROMPTS) for text in TEXTS]


def test_an_openai_compatible_server_scores_what_the_transformers_backend_scores(tiny_model, tmp_path):
    local = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=3))
    expected = local.score(_requests(), local.load_model())
    with FakeLLMServer(scorer=TinyScorer(tiny_model)) as server:
        remote = OpenAICompatibleHandler(model_id="tiny", options=OpenAIOptions(base_url=server.url, scoring=True),
                                         cache_path=str(tmp_path / "cache"))
        endpoint = remote.load_model()
        got = list(remote.run_inference(_requests(), endpoint))
        paths = {r["key"] for r in server.requests}
        again = list(remote.run_inference(_requests(), endpoint))  # scores are cached like responses
        assert {r["key"] for r in server.requests} == paths and all(r.cached for r in again)
    for want, have in zip(expected, got):
        assert have.ok and len(have.token_logprobs) == len(want.token_logprobs), have.error
        assert abs(have.logprob - want.logprob) < 1e-4, (want.request.score_text, have.logprob, want.logprob)
    assert [a.logprob for a in again] == [g.logprob for g in got]
    # the scores tell texts apart: not a constant
    assert len({round(g.logprob, 3) for g in got}) > 3


def test_a_server_that_cannot_score_is_refused_then_reported(tmp_path):
    entry = model_spec({"name": "gpt", "backend": "openai", "model": "gpt-x"})
    (problem,) = capability_problems(entry, {"scoring"}, "pairs.density_ratio.strong")
    assert "set openai.scoring: true" in problem
    assert capability_problems(model_spec({"name": "v", "backend": "openai", "model": "m",
                                           "openai": {"scoring": True}}), {"scoring"}, "x") == []
    with FakeLLMServer() as server:  # no /tokenize: answers 404 as a hosted API would
        handler = OpenAICompatibleHandler(model_id="m", options=OpenAIOptions(base_url=server.url, scoring=True))
        (response,) = handler.run_inference(_requests()[:1], handler.load_model())
    assert not response.ok and response.reason == "http_404" and "/tokenize" in response.error


def test_generation_logprobs_come_back_from_a_chat_completion(tmp_path):
    def with_logprobs(body):
        return "four words right here"

    with FakeLLMServer(answer=with_logprobs) as server:
        handler = OpenAICompatibleHandler(model_id="m", options=OpenAIOptions(base_url=server.url))
        request = LLMRequest("p", "m", PROMPTS[0], SamplingParams(logprobs=True))
        (response,) = handler.run_inference([request], handler.load_model())
        assert server.requests[0]["body"]["logprobs"] is True
    assert response.ok and response.token_logprobs == [-0.5, -0.5, -0.5, -0.5]
