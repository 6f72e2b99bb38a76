"""Requests, responses and the base ModelHandler every LLM backend extends.

A backend implements one hook, `generate(requests, model) -> responses` (same order), and never raises for
a single failed request: it returns an `LLMResponse` with `error` and `status`. The base class serves
cache hits, sends only the misses to the backend and stores what finished.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import ModelHandler
from pydantic import BaseModel, ConfigDict, Field

from prefmill.transforms.llm.cache import ResponseCache


class SamplingParams(BaseModel):
    """Sampling parameters of one model; part of every request's cache key."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.7, ge=0.0, description="0 = greedy")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(512, gt=0, description="maximum new tokens per response")
    seed: Optional[int] = Field(0, description="base seed; each sample adds its index")
    stop: list[str] = Field(default_factory=list)
    json_schema: Optional[dict[str, Any]] = Field(None, description="structured output: the response must match")


def request_key(model_id: str, messages: Sequence[dict], params: SamplingParams, sample_index: int) -> str:
    """Cache key of a request: the same model, messages, params, seed and sample index give the same key.

    >>> p = SamplingParams()
    >>> request_key("m", [{"role": "user", "content": "hi"}], p, 0) == request_key("m", [{"role": "user", "content": "hi"}], p, 0)
    True
    >>> request_key("m", [{"role": "user", "content": "hi"}], p, 0) == request_key("m", [{"role": "user", "content": "hi"}], p, 1)
    False
    """
    body = json.dumps({"model": model_id, "messages": list(messages), "params": params.model_dump(mode="json"),
                       "sample": sample_index}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class LLMRequest:
    prompt_id: str
    model: str  # the label datasets show (chosen_model, ...)
    messages: list[dict]
    params: SamplingParams
    sample_index: int = 0
    key: str = ""
    tag: Any = None  # caller's context (e.g. which pair a judge request belongs to); not part of the key


@dataclass
class LLMResponse:
    request: LLMRequest
    text: Optional[str] = None
    finish_reason: Optional[str] = None
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    latency_s: Optional[float] = None
    error: Optional[str] = None
    status: Optional[int] = None
    attempts: int = 1
    cached: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None

    def to_cache(self) -> dict:
        return {"text": self.text, "finish_reason": self.finish_reason, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "latency_s": self.latency_s}

    @classmethod
    def from_cache(cls, request: LLMRequest, entry: dict) -> "LLMResponse":
        return cls(request=request, text=entry.get("text"), finish_reason=entry.get("finish_reason"),
                   prompt_tokens=entry.get("prompt_tokens"), completion_tokens=entry.get("completion_tokens"),
                   latency_s=entry.get("latency_s"), cached=True, attempts=0)


class LLMHandler(ModelHandler[LLMRequest, LLMResponse, Any]):
    """Base of the LLM backends: caching, batching hints and metrics around one `generate` hook."""

    backend = "llm"

    def __init__(self, *, model_id: str, cache_path: Optional[str] = None, max_batch_size: int = 64,
                 min_batch_size: Optional[int] = None) -> None:
        super().__init__()
        self.model_id = model_id
        self.cache_path = cache_path
        self.max_batch_size = max_batch_size
        # Full batches from the start: Beam's adaptive batching otherwise begins with tiny batches, which
        # leaves a GPU (or a server's concurrency) idle. The last batch of a bundle is flushed as it is.
        self.min_batch_size = max_batch_size if min_batch_size is None else min_batch_size
        self._cache: Optional[ResponseCache] = None

    # -- hooks for backends --------------------------------------------------------------------------
    def generate(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        raise NotImplementedError

    # -- Beam ModelHandler ---------------------------------------------------------------------------
    def batch_elements_kwargs(self) -> dict:
        return {"min_batch_size": self.min_batch_size, "max_batch_size": self.max_batch_size}

    def get_metrics_namespace(self) -> str:
        return "prefmill.llm"

    @property
    def cache(self) -> Optional[ResponseCache]:
        if self._cache is None and self.cache_path:
            self._cache = ResponseCache(self.cache_path)
        return self._cache

    def remember(self, response: LLMResponse) -> None:
        """Store a finished response now (backends that stream results call this per response)."""
        if self.cache is not None and response.ok and not response.cached:
            self.cache.put(response.request.key, response.to_cache())

    def run_inference(self, batch: Sequence[LLMRequest], model: Any,
                      inference_args: Optional[dict] = None) -> Iterable[LLMResponse]:
        for request in batch:
            if not request.key:
                request.key = request_key(self.model_id, request.messages, request.params, request.sample_index)
        results: list[Optional[LLMResponse]] = [None] * len(batch)
        misses: list[int] = []
        for index, request in enumerate(batch):
            entry = self.cache.get(request.key) if self.cache is not None else None
            if entry is not None:
                results[index] = LLMResponse.from_cache(request, entry)
            else:
                misses.append(index)
        Metrics.counter("prefmill.generate", "cache_hits").inc(len(batch) - len(misses))
        Metrics.counter("prefmill.generate", "cache_misses").inc(len(misses))
        if misses:
            started = time.monotonic()
            fresh = self.generate([batch[i] for i in misses], model)
            Metrics.counter("prefmill.generate", "engine_ms").inc(int((time.monotonic() - started) * 1000))
            if len(fresh) != len(misses):
                raise RuntimeError(f"{type(self).__name__}.generate returned {len(fresh)} responses for "
                                   f"{len(misses)} requests")
            for index, response in zip(misses, fresh):
                self.remember(response)
                results[index] = response
        return [r for r in results if r is not None]
