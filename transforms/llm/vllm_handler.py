"""vLLM's offline engine in-process (`vllm.LLM`), written against the API of vllm==0.10.0 (the `vllm` extra).

A whole RunInference batch goes to one `LLM.chat` call, so the engine schedules all of it continuously.
The engine is shared by every process on a worker machine (`share_model_across_processes`), so a GPU
holds one copy. Structured output uses `GuidedDecodingParams(json=schema)`. The seams (engine arguments,
sampling parameters, result parsing) are plain functions, tested without a GPU; a test marked `gpu`
runs the real engine.
"""

from __future__ import annotations

from typing import Any, Optional

from prefmill.transforms.llm.base import LLMHandler, LLMRequest, LLMResponse, SamplingParams
from prefmill.transforms.llm.options import VLLMOptions

PINNED_VERSION = "0.10.0"


def engine_kwargs(model_id: str, options: VLLMOptions) -> dict:
    kwargs = {
        "model": model_id, "tensor_parallel_size": options.tensor_parallel_size, "dtype": options.dtype,
        "gpu_memory_utilization": options.gpu_memory_utilization, "enforce_eager": options.enforce_eager,
        "seed": options.seed,
    }
    if options.max_model_len is not None:
        kwargs["max_model_len"] = options.max_model_len
    return kwargs


def to_vllm_sampling(params: SamplingParams, sample_index: int, vllm_module: Any) -> Any:
    """prefmill SamplingParams -> vllm.SamplingParams (seed + sample index, so samples differ)."""
    kwargs: dict[str, Any] = {"n": 1, "temperature": params.temperature, "top_p": params.top_p,
                              "max_tokens": params.max_tokens}
    if params.seed is not None:
        kwargs["seed"] = params.seed + sample_index
    if params.stop:
        kwargs["stop"] = list(params.stop)
    if params.json_schema is not None:
        from_module = vllm_module.sampling_params
        kwargs["guided_decoding"] = from_module.GuidedDecodingParams(json=params.json_schema)
    return vllm_module.SamplingParams(**kwargs)


def parse_output(request: LLMRequest, output: Any, latency_s: float) -> LLMResponse:
    """One vllm RequestOutput -> LLMResponse."""
    if not getattr(output, "outputs", None):
        return LLMResponse(request=request, error="vLLM returned no completion", latency_s=latency_s,
                           reason="inference_error")
    completion = output.outputs[0]
    prompt_ids = getattr(output, "prompt_token_ids", None)
    return LLMResponse(
        request=request, text=completion.text, finish_reason=completion.finish_reason,
        prompt_tokens=len(prompt_ids) if prompt_ids is not None else None,
        completion_tokens=len(completion.token_ids) if getattr(completion, "token_ids", None) is not None else None,
        latency_s=latency_s,
    )


class VLLMHandler(LLMHandler):
    backend = "vllm"

    def __init__(self, *, model_id: str, options: VLLMOptions, cache_path: Optional[str] = None,
                 max_batch_size: int = 4096) -> None:
        super().__init__(model_id=model_id, cache_path=cache_path, max_batch_size=max_batch_size)
        self.options = options

    def share_model_across_processes(self) -> bool:
        return True

    def load_model(self) -> Any:
        import vllm

        return vllm.LLM(**engine_kwargs(self.model_id, self.options))

    def generate(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        import time

        import vllm

        sampling = [to_vllm_sampling(r.params, r.sample_index, vllm) for r in requests]
        started = time.monotonic()
        outputs = model.chat([r.messages for r in requests], sampling_params=sampling, use_tqdm=False,
                             chat_template=self.options.chat_template)
        latency = time.monotonic() - started
        if len(outputs) != len(requests):
            return [LLMResponse(request=r, error=f"vLLM returned {len(outputs)} outputs for {len(requests)} requests",
                                reason="inference_error")
                    for r in requests]
        return [parse_output(r, o, latency) for r, o in zip(requests, outputs)]
