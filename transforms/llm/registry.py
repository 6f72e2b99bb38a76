"""The LLM backends, one registry line each: the config entry it reads, the handler that runs it, and what
it can do. Every LLM stage (generation, self-editing, judges, the routing tagger) gets its handler here.

Capabilities, checked when a config is validated (`capability_problems`):
- `structured_output`: the answer is constrained to a JSON schema (judges and the tagger need it);
- `stop`: generation ends at `sampling.stop` strings;
- `logprobs`: per-token log-probabilities of a generation (`sampling.logprobs`);
- `scoring`: the log-likelihood of a given response (`LLMHandler.score`; an OpenAI-compatible server only
  with `openai.scoring: true`).

Adding a backend: write one file with its entry model (a `ModelBase` subclass with `backend: Literal[...]`
and its options) and its handler (an `LLMHandler`), then add one `Backend(...)` line to `BACKENDS`. The
README's "Extending prefmill" section has a worked example, built by a test.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated, Optional, Union

from pydantic import Field, TypeAdapter

from prefmill.schemas.plugins import add_plugins, load_plugins
from prefmill.transforms.llm.spec import (
    AnthropicBatchModel, Backend, ModelBase, OpenAIBatchModel, OpenAIModel, TransformersModel, VLLMModel,
)

if TYPE_CHECKING:
    from prefmill.transforms.llm.base import LLMHandler

CAPABILITIES = ("structured_output", "stop", "logprobs", "scoring")


def _openai_lacks(spec: OpenAIModel) -> dict[str, str]:
    if spec.openai.scoring:
        return {}
    return {"scoring": "set openai.scoring: true if the server offers /tokenize and /v1/completions with echo and "
                       "logprobs (vLLM's and SGLang's do; OpenAI's own API cannot score)"}


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("openai", OpenAIModel, "prefmill.transforms.llm.openai_compat:OpenAICompatibleHandler", "openai",
            frozenset({"structured_output", "stop", "logprobs", "scoring"}),
            # 32 rounds of HTTP requests (a request carries up to samples_per_request samples of one prompt)
            lambda spec: 32 * spec.openai.max_concurrency * min(spec.openai.samples_per_request, spec.n),
            _openai_lacks),
    Backend("vllm", VLLMModel, "prefmill.transforms.llm.vllm_handler:VLLMHandler", "vllm",
            frozenset({"structured_output", "stop", "logprobs", "scoring"}), lambda spec: 4096),
    Backend("transformers", TransformersModel, "prefmill.transforms.llm.hf_transformers:TransformersHandler",
            "transformers", frozenset({"stop", "logprobs", "scoring"}), lambda spec: 8 * spec.transformers.batch_size),
    # batch APIs at about half the price, answered within hours (batch_api.py); their batch ids live in the cache
    Backend("openai_batch", OpenAIBatchModel, "prefmill.transforms.llm.batch_api:BatchHandler", "openai_batch",
            frozenset({"structured_output", "stop", "logprobs"}),
            lambda spec: spec.openai_batch.max_requests_per_batch, needs_cache=True),
    Backend("anthropic_batch", AnthropicBatchModel, "prefmill.transforms.llm.batch_api:AnthropicBatchHandler",
            "anthropic_batch", frozenset({"structured_output", "stop"}),
            lambda spec: spec.anthropic_batch.max_requests_per_batch, needs_cache=True),
)}

add_plugins(BACKENDS, load_plugins("prefmill.backends"), "prefmill.backends")  # other packages' (schemas/plugins.py)

ModelSpec = Annotated[Union[tuple(b.entry for b in BACKENDS.values())], Field(discriminator="backend")]
_SPEC = TypeAdapter(ModelSpec)


def model_spec(data: dict) -> ModelBase:
    """A model entry from plain data, validated like a config entry."""
    return _SPEC.validate_python(data)


def batch_size_of(spec: ModelBase) -> int:
    """Requests per RunInference batch. RunInference hands a handler one batch at a time, so a server's
    concurrency drains at every batch end: large batches keep it full (measured in bench/generation.py)."""
    return spec.batch_size if spec.batch_size is not None else BACKENDS[spec.backend].batch_size(spec)


def make_handler(spec: ModelBase, cache_path: Optional[str], stage: str = "generate") -> "LLMHandler":
    """The handler for one model entry (imports the backend, and Beam's RunInference, only now); its cache
    and engine-time counters go to `stage` (generate, judge, inject, route)."""
    backend = BACKENDS[spec.backend]
    module, _, name = backend.handler.partition(":")
    handler_class = getattr(importlib.import_module(module), name)
    handler = handler_class(model_id=spec.model, options=getattr(spec, backend.options), cache_path=cache_path,
                            max_batch_size=batch_size_of(spec))
    handler.stage = stage
    return handler


def capability_problems(spec: ModelBase, needs: set[str], where: str) -> list[str]:
    """What `spec`'s backend cannot do of what its use needs (plus what its own sampling settings ask)."""
    asked = {"stop": bool(spec.sampling.stop), "logprobs": spec.sampling.logprobs}
    needs = set(needs) | {name for name, wanted in asked.items() if wanted}
    backend = BACKENDS[spec.backend]
    lacks = backend.entry_lacks(spec)
    fixable = sorted(name for name in needs & set(lacks) if name in backend.capabilities)
    if fixable:
        return [f"{where} ({spec.name!r}): this {spec.backend} entry cannot do {name}: {lacks[name]}"
                for name in fixable]
    missing = sorted(needs - backend.capabilities)
    if not missing:
        return []
    able = [name for name, b in BACKENDS.items() if set(missing) <= b.capabilities]  # registry order
    return [f"{where} ({spec.name!r}): backend {spec.backend} cannot do {', '.join(missing)}; "
            + (f"use backend {' or '.join(able)} (e.g. serve the model with `vllm serve` and use openai)" if able
               else "no backend offers it yet")]
