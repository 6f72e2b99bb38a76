"""vLLM's offline engine in-process (`vllm.LLM`), written against vllm 0.32-0.33 (the `vllm` extra; the
names used here are checked against the pinned wheel's source by tests/transforms/llm/test_vllm_contract.py).

A whole RunInference batch goes to one `LLM.chat` call, so the engine schedules all of it continuously, with
prefix caching on (the prompts of one run share long prefixes: a judge's rubric, a self-edit instruction).
The engine is shared by every process on a worker machine (`share_model_across_processes`) and by every
stage that names the same model and engine options (`engine_identity`), so a GPU holds one copy.
Structured output uses `StructuredOutputsParams(json=schema)`; a score reads the prompt log-probabilities
of a one-token generation (`prompt_logprobs=0`). The seams (engine arguments, sampling parameters, result
parsing) are plain functions, tested without a GPU; a test marked `gpu` runs the real engine.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from prefmill.transforms.llm.base import LLMHandler, LLMRequest, LLMResponse, SamplingParams
from prefmill.transforms.llm.options import VLLMOptions
from prefmill.transforms.llm.scoring import score_token_ids

SUPPORTED = ">=0.32,<0.34"  # the `vllm` extra's range; the contract test reads both ends' wheels
TESTED_VERSIONS = ("0.32.0", "0.33.0")
SCORE_SAMPLING = {"max_tokens": 1, "temperature": 0.0, "prompt_logprobs": 0}  # a score reads the prompt's logprobs


def engine_kwargs(model_id: str, options: VLLMOptions) -> dict:
    """vllm.LLM(...) arguments. `enable_prefix_caching` and `max_model_len` are engine arguments that
    `LLM` passes on to `EngineArgs`."""
    kwargs = {
        "model": model_id, "tensor_parallel_size": options.tensor_parallel_size, "dtype": options.dtype,
        "gpu_memory_utilization": options.gpu_memory_utilization, "enforce_eager": options.enforce_eager,
        "seed": options.seed, "enable_prefix_caching": options.enable_prefix_caching,
    }
    if options.max_model_len is not None:
        kwargs["max_model_len"] = options.max_model_len
    if options.quantization is not None:
        kwargs["quantization"] = options.quantization
    return kwargs


def to_vllm_sampling(params: SamplingParams, sample_index: int, vllm_module: Any) -> Any:
    """prefmill SamplingParams -> vllm.SamplingParams (seed + sample index, so samples differ)."""
    kwargs: dict[str, Any] = {"n": 1, "temperature": params.temperature, "top_p": params.top_p,
                              "max_tokens": params.max_tokens}
    if params.seed is not None:
        kwargs["seed"] = params.seed + sample_index
    if params.stop:
        kwargs["stop"] = list(params.stop)
    if params.logprobs:
        kwargs["logprobs"] = 0  # the sampled token's own log-probability, no alternatives
    if params.json_schema is not None:
        kwargs["structured_outputs"] = vllm_module.sampling_params.StructuredOutputsParams(json=params.json_schema)
    return vllm_module.SamplingParams(**kwargs)


def _logprob_of(position: Any, token_id: int) -> Optional[float]:
    """The log-probability of `token_id` at one position of vLLM's logprobs ({token id: Logprob})."""
    if not position or token_id not in position:
        return None
    return float(position[token_id].logprob)


def parse_output(request: LLMRequest, output: Any, latency_s: float) -> LLMResponse:
    """One vllm RequestOutput -> LLMResponse."""
    if not getattr(output, "outputs", None):
        return LLMResponse(request=request, error="vLLM returned no completion", latency_s=latency_s,
                           reason="inference_error")
    completion = output.outputs[0]
    prompt_ids = getattr(output, "prompt_token_ids", None)
    token_ids = list(getattr(completion, "token_ids", None) or [])
    logprobs = None
    if request.params.logprobs and completion.logprobs is not None:
        logprobs = [_logprob_of(position, token) for position, token in zip(completion.logprobs, token_ids)]
        if any(value is None for value in logprobs):
            return LLMResponse(request=request, error="vLLM left out a generated token's logprob",
                               latency_s=latency_s, reason="malformed_response")
    return LLMResponse(
        request=request, text=completion.text, finish_reason=completion.finish_reason,
        prompt_tokens=len(prompt_ids) if prompt_ids is not None else None,
        completion_tokens=len(token_ids) if getattr(completion, "token_ids", None) is not None else None,
        latency_s=latency_s, token_logprobs=logprobs,
    )


def parse_score(request: LLMRequest, output: Any, ids: list[int], start: int, latency_s: float) -> LLMResponse:
    """The scored text's token log-probabilities from a RequestOutput's `prompt_logprobs`."""
    positions = getattr(output, "prompt_logprobs", None)
    if positions is None or len(positions) < len(ids):
        return LLMResponse(request=request, error="vLLM returned no prompt logprobs", latency_s=latency_s,
                           reason="malformed_response")
    values = [_logprob_of(positions[i], ids[i]) for i in range(start, len(ids))]
    if any(value is None for value in values):
        return LLMResponse(request=request, error="vLLM left out a prompt token's logprob", latency_s=latency_s,
                           reason="malformed_response")
    return LLMResponse(request=request, prompt_tokens=start, completion_tokens=len(ids) - start,
                       latency_s=latency_s, token_logprobs=values)


def _miscounted(requests: list[LLMRequest], outputs: list) -> list[LLMResponse]:
    """Every request failed, when vLLM returned another number of outputs than requests (else [])."""
    if len(outputs) == len(requests):
        return []
    return [LLMResponse(request=r, error=f"vLLM returned {len(outputs)} outputs for {len(requests)} requests",
                        reason="inference_error") for r in requests]


class VLLMHandler(LLMHandler):
    backend = "vllm"

    def __init__(self, *, model_id: str, options: VLLMOptions, cache_path: Optional[str] = None,
                 max_batch_size: int = 4096) -> None:
        super().__init__(model_id=model_id, cache_path=cache_path, max_batch_size=max_batch_size)
        self.options = options
        self._tokenizer = None

    def share_model_across_processes(self) -> bool:
        return True

    def engine_identity(self) -> str:
        return f"vllm:{self.model_id}:{self.options.model_dump_json(exclude={'chat_template'})}"

    def _each_alone(self, call, requests: list[LLMRequest], model: Any, exc: Exception) -> list[LLMResponse]:
        """A call vLLM refused as a whole: each request alone, so only those it cannot take fail, each with
        the engine's own error (a single request's failure is its answer)."""
        if len(requests) == 1:
            return [LLMResponse(request=requests[0], error=f"vLLM: {type(exc).__name__}: {exc}"[:2000],
                                reason="inference_error")]
        return [response for request in requests for response in call([request], model)]

    def load_model(self) -> Any:
        import vllm

        return vllm.LLM(**engine_kwargs(self.model_id, self.options))

    def generate(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        import vllm

        sampling = [to_vllm_sampling(r.params, r.sample_index, vllm) for r in requests]
        started = time.monotonic()
        try:
            outputs = model.chat([r.messages for r in requests], sampling_params=sampling, use_tqdm=False,
                                 chat_template=self.options.chat_template)
        except Exception as exc:  # noqa: BLE001 - e.g. one prompt over max_model_len refuses the whole call
            return self._each_alone(self.generate, requests, model, exc)
        latency = time.monotonic() - started
        return _miscounted(requests, outputs) or [parse_output(r, o, latency) for r, o in zip(requests, outputs)]

    def score(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        import vllm
        from vllm.inputs import TokensPrompt

        if self._tokenizer is None:  # through Beam's cross-process proxy each call copies it: once is enough
            self._tokenizer = model.get_tokenizer()
        tokenizer = self._tokenizer
        encoded = [score_token_ids(tokenizer, r.messages, r.score_text, self.options.chat_template) for r in requests]
        params = vllm.SamplingParams(**SCORE_SAMPLING)
        started = time.monotonic()
        try:
            outputs = model.generate([TokensPrompt(prompt_token_ids=ids) for ids, _ in encoded],
                                     sampling_params=params, use_tqdm=False)
        except Exception as exc:  # noqa: BLE001 - e.g. one text over max_model_len refuses the whole call
            return self._each_alone(self.score, requests, model, exc)
        latency = time.monotonic() - started
        return _miscounted(requests, outputs) or [parse_score(r, o, ids, start, latency)
                                                  for r, o, (ids, start) in zip(requests, outputs, encoded)]
