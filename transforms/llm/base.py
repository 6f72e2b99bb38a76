"""Requests, responses and the base ModelHandler every LLM backend extends.

A backend implements one hook, `generate(requests, model) -> responses` (same order), and never raises for
a single failed request: it returns an `LLMResponse` with `error` and `status`. The base class serves
cache hits, sends only the misses to the backend and stores what finished.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Optional

from apache_beam.metrics import Metrics

import prefmill.transforms.llm.beam_ml  # noqa: F401  # first: Beam's RunInference without torch
from apache_beam.ml.inference.base import ModelHandler  # noqa: E402

from prefmill.transforms.llm.cache import ResponseCache
from prefmill.transforms.llm.requests import LLMRequest, LLMResponse, SamplingParams, request_key

__all__ = ["LLMHandler", "LLMRequest", "LLMResponse", "SamplingParams", "request_key"]


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
