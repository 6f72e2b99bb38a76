"""The vLLM handler at its seams, without a GPU: what it builds and how it reads results.

A recording `vllm` module stands in for the engine here; that its names, parameters and fields are vLLM's
own is checked against the real wheels' source in test_vllm_contract.py. The real engine runs in the `gpu`
test below.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from prefmill.transforms.llm import LLMRequest, SamplingParams
from prefmill.transforms.llm.vllm_handler import (
    TESTED_VERSIONS, VLLMHandler, VLLMOptions, engine_kwargs, parse_output, parse_score, to_vllm_sampling,
)


@dataclass
class FakeCompletion:
    text: str
    finish_reason: str
    token_ids: list = field(default_factory=list)
    logprobs: list | None = None


@dataclass
class FakeRequestOutput:
    outputs: list
    prompt_token_ids: list
    prompt_logprobs: list | None = None


@dataclass
class FakeLogprob:
    logprob: float


def fake_vllm(calls: list) -> types.ModuleType:
    module = types.ModuleType("vllm")
    sampling_module = types.ModuleType("vllm.sampling_params")

    class StructuredOutputsParams:
        def __init__(self, json=None, **kw):
            self.json = json

    class FakeSamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs):
            calls.append(("engine", kwargs))

        def chat(self, messages, sampling_params=None, use_tqdm=True, chat_template=None):
            calls.append(("chat", messages, sampling_params, use_tqdm, chat_template))
            return [FakeRequestOutput([FakeCompletion(f"reply {i}", "stop" if i % 2 == 0 else "length", [1, 2, 3])],
                                      [9] * (i + 1)) for i in range(len(messages))]

    sampling_module.StructuredOutputsParams = StructuredOutputsParams
    module.sampling_params = sampling_module
    module.SamplingParams = FakeSamplingParams
    module.LLM = LLM
    return module


@pytest.fixture
def vllm_calls(monkeypatch):
    calls: list = []
    module = fake_vllm(calls)
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", module.sampling_params)
    return calls


def test_engine_arguments():
    options = VLLMOptions(tensor_parallel_size=2, dtype="bfloat16", max_model_len=4096, gpu_memory_utilization=0.8)
    assert engine_kwargs("org/model", options) == {
        "model": "org/model", "tensor_parallel_size": 2, "dtype": "bfloat16", "gpu_memory_utilization": 0.8,
        "enforce_eager": False, "seed": 0, "max_model_len": 4096, "enable_prefix_caching": True,
    }
    assert engine_kwargs("m", VLLMOptions(quantization="awq", enable_prefix_caching=False))["quantization"] == "awq"


def test_one_engine_identity_per_model_and_engine_options():
    same = VLLMHandler(model_id="org/m", options=VLLMOptions(chat_template="{{ x }}"), max_batch_size=8)
    assert same.engine_identity() == VLLMHandler(model_id="org/m", options=VLLMOptions()).engine_identity()
    assert (VLLMHandler(model_id="org/m", options=VLLMOptions(gpu_memory_utilization=0.5)).engine_identity()
            != same.engine_identity())


def test_sampling_params_and_guided_json(vllm_calls):
    vllm = sys.modules["vllm"]
    params = SamplingParams(temperature=0.9, top_p=0.95, max_tokens=128, seed=5, stop=["</s>"],
                            json_schema={"type": "object", "properties": {"score": {"type": "integer"}}})
    built = to_vllm_sampling(params, sample_index=3, vllm_module=vllm)
    guided = built.kwargs.pop("structured_outputs")
    assert built.kwargs == {"n": 1, "temperature": 0.9, "top_p": 0.95, "max_tokens": 128, "seed": 8, "stop": ["</s>"]}
    assert guided.json == params.json_schema
    assert to_vllm_sampling(SamplingParams(logprobs=True), 0, vllm).kwargs["logprobs"] == 0


def test_whole_batch_goes_to_one_chat_call_and_results_parse(vllm_calls):
    h = VLLMHandler(model_id="org/model", options=VLLMOptions(chat_template="{{ messages }}"))
    assert h.share_model_across_processes() is True
    engine = h.load_model()
    batch = [LLMRequest(prompt_id=f"p{i}", model="policy", messages=[{"role": "user", "content": f"q{i}"}],
                        params=SamplingParams(), sample_index=i) for i in range(3)]
    out = list(h.run_inference(batch, engine))
    chats = [c for c in vllm_calls if c[0] == "chat"]
    assert len(chats) == 1
    _, messages, sampling, use_tqdm, template = chats[0]
    assert messages == [[{"role": "user", "content": f"q{i}"}] for i in range(3)]
    assert [s.kwargs["seed"] for s in sampling] == [0, 1, 2] and use_tqdm is False and template == "{{ messages }}"
    assert [(r.text, r.finish_reason, r.prompt_tokens, r.completion_tokens) for r in out] == [
        ("reply 0", "stop", 1, 3), ("reply 1", "length", 2, 3), ("reply 2", "stop", 3, 3)]


def test_empty_output_is_an_error_response():
    request = LLMRequest(prompt_id="p", model="m", messages=[], params=SamplingParams())
    response = parse_output(request, FakeRequestOutput([], [1]), 0.1)
    assert not response.ok and "no completion" in response.error


def test_generated_and_prompt_logprobs_are_read_for_the_right_tokens():
    request = LLMRequest(prompt_id="p", model="m", messages=[], params=SamplingParams(logprobs=True))
    completion = FakeCompletion("ab", "stop", [7, 8],
                                [{7: FakeLogprob(-0.5), 3: FakeLogprob(-0.1)}, {8: FakeLogprob(-1.5)}])
    assert parse_output(request, FakeRequestOutput([completion], [1]), 0.1).token_logprobs == [-0.5, -1.5]
    scoring = LLMRequest(prompt_id="p", model="m", messages=[], params=SamplingParams(), score_text="ab")
    # prompt ids 5, 6 then the text's 7, 8; position 0 has no logprob (nothing precedes it)
    out = FakeRequestOutput([completion], [5, 6, 7, 8], [None, {6: FakeLogprob(-2.0)}, {7: FakeLogprob(-0.25)},
                                                         {8: FakeLogprob(-0.75), 9: FakeLogprob(-0.1)}])
    scored = parse_score(scoring, out, [5, 6, 7, 8], 2, 0.1)
    assert scored.ok and scored.token_logprobs == [-0.25, -0.75] and scored.logprob == -1.0
    no_logprob = FakeRequestOutput([completion], [5, 6, 7, 8], [None, None, None, {9: FakeLogprob(0)}])
    missing = parse_score(scoring, no_logprob, [5, 6, 7, 8], 2, 0.1)
    assert not missing.ok and missing.reason == "malformed_response"


@pytest.mark.gpu
def test_real_vllm_engine_generates():
    """Runs where vllm, a GPU and a local model exist: PREFMILL_VLLM_MODEL=/path/to/model (no downloads)."""
    import os

    vllm = pytest.importorskip("vllm")
    model_dir = os.environ.get("PREFMILL_VLLM_MODEL")
    if not model_dir:
        pytest.skip("set PREFMILL_VLLM_MODEL to a local model folder")
    assert vllm.__version__ in TESTED_VERSIONS
    h = VLLMHandler(model_id=model_dir, options=VLLMOptions(gpu_memory_utilization=0.5, enforce_eager=True))
    engine = h.load_model()
    batch = [LLMRequest(prompt_id=f"p{i}", model="policy", messages=[{"role": "user", "content": f"Count to {i}."}],
                        params=SamplingParams(max_tokens=16)) for i in range(4)]
    out = list(h.run_inference(batch, engine))
    assert len(out) == 4 and all(r.ok and r.completion_tokens for r in out)


def test_a_prompt_the_engine_refuses_fails_alone(vllm_calls):
    """vLLM refuses a whole call when one prompt is over max_model_len: the others still get answers."""
    import sys as _sys

    module = _sys.modules["vllm"]
    real_chat = module.LLM.chat

    def chat(self, messages, **kwargs):
        if any("too long" in m[-1]["content"] for m in messages):
            raise ValueError("prompt is longer than max_model_len")
        return real_chat(self, messages, **kwargs)

    module.LLM.chat = chat
    h = VLLMHandler(model_id="org/model", options=VLLMOptions())
    engine = h.load_model()
    batch = [LLMRequest(prompt_id=f"p{i}", model="m", messages=[{"role": "user", "content": text}],
                        params=SamplingParams()) for i, text in enumerate(["fine", "too long", "also fine"])]
    out = h.generate(batch, engine)
    assert [r.ok for r in out] == [True, False, True]
    assert out[1].reason == "inference_error" and "max_model_len" in out[1].error
