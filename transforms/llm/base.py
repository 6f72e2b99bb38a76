"""Requests, responses and the base ModelHandler every LLM backend extends.

A backend implements one hook, `generate(requests, model) -> responses` (same order), and never raises for
a single failed request: it returns an `LLMResponse` with `error` and `status`. The base class serves
cache hits, sends only the misses to the backend and stores what finished.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from typing import Any, Callable, Iterable, Optional, Sequence

import prefmill.transforms.llm.beam_ml  # noqa: F401  # first: Beam's RunInference without torch
from apache_beam.ml.inference.base import ModelHandler  # noqa: E402

from prefmill.transforms.base import count
from prefmill.transforms.llm.cache import ResponseCache
from prefmill.transforms.llm.requests import (
    INFERENCE_ERROR, LLMRequest, LLMResponse, RequestGroup, SamplingParams, group_weight, request_key,
)

__all__ = ["LLMHandler", "LLMRequest", "LLMResponse", "RequestGroup", "SamplingParams", "request_key"]


_ENGINES: "weakref.WeakValueDictionary[str, Any]" = weakref.WeakValueDictionary()
_ENGINES_LOCK = threading.Lock()


def shared_engine(identity: Optional[str], load: Callable[[], Any]) -> Any:
    """The engine loaded in this process under `identity`, loading it with `load()` if none is alive. Beam
    shares a model across RunInference steps only when it shares it across processes, so in-process
    backends (transformers) share here: held weakly, an engine lives while a stage holds it."""
    if identity is None:
        return load()
    with _ENGINES_LOCK:
        engine = _ENGINES.get(identity)
        if engine is None:
            engine = load()
            _ENGINES[identity] = engine
        return engine


class LLMHandler(ModelHandler[LLMRequest, LLMResponse, Any]):
    """Base of the LLM backends: caching, batching hints and metrics around one `generate` hook."""

    backend = "llm"
    stage = "generate"  # the stage whose counters (prefmill.<stage>) this handler's cache and engine time go to

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
        self.grouped = False  # elements are RequestGroups (see for_groups), else single LLMRequests
        self.second_try: Optional[Callable[[LLMResponse], Optional[LLMRequest]]] = None

    # -- hooks for backends --------------------------------------------------------------------------
    def generate(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        raise NotImplementedError

    def score(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        """Scoring requests (`score_text` set) -> responses with `token_logprobs`: log p(each token of
        score_text | the rendered prompt, the tokens before it). Backends with the `scoring` capability."""
        raise NotImplementedError(f"backend {self.backend} cannot score")

    def engine_identity(self) -> Optional[str]:
        """What makes two handlers' loaded models interchangeable: stages whose handlers give the same
        identity share one loaded engine per worker (RunInference's `model_identifier`), so a model is
        loaded once however many stages use it. None (the default): this handler's model is its own."""
        return None

    def for_groups(self, second_try: Optional[Callable[[LLMResponse], Optional[LLMRequest]]] = None) -> "LLMHandler":
        """This handler taking RequestGroups instead of single requests: a batch holds whole groups, up to
        `max_batch_size` requests in all, and each group comes back with its responses, in request order.

        `second_try(response)` may return a new request for an answer that cannot be used (a judgment that
        does not parse): those are asked once more, together, before the batch returns, and the second
        answer replaces the first. A backend that raises instead of answering fails its batch's requests
        with reason `inference_error`; the groups still come back (nothing is dropped)."""
        grouped = copy.copy(self)
        grouped.grouped = True
        grouped.second_try = second_try
        return grouped

    # -- Beam ModelHandler ---------------------------------------------------------------------------
    def batch_elements_kwargs(self) -> dict:
        kwargs = {"min_batch_size": self.min_batch_size, "max_batch_size": self.max_batch_size}
        if self.grouped:
            kwargs["element_size_fn"] = group_weight
        return kwargs

    def get_num_bytes(self, batch: Sequence[Any]) -> int:
        # Beam's default pickles the whole batch to measure it; the text is what counts and is cheap to sum
        requests = [r for g in batch for r in g.requests] if self.grouped else batch
        return sum(len(str(m.get("content", ""))) for r in requests for m in r.messages)

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

    def run_inference(self, batch: Sequence[Any], model: Any, inference_args: Optional[dict] = None) -> Iterable[Any]:
        if not self.grouped:
            return self._answer(batch, model)
        requests = [r for group in batch for r in group.requests]
        try:
            # one call for the whole batch, so the backend sees every request of every group at once
            answers = self._answer(requests, model)
            if self.second_try is not None:
                answers = self._ask_again(answers, model)
        except Exception as exc:  # noqa: BLE001  # a whole batch failed: its requests become dead letters
            return [group.failed(f"inference failed: {type(exc).__name__}: {exc}"[:2000], INFERENCE_ERROR)
                    for group in batch]
        groups, start = [], 0
        for group in batch:
            end = start + len(group.requests)
            groups.append(RequestGroup(group.owner, group.requests, answers[start:end]))
            start = end
        return groups

    def _ask_again(self, answers: list[LLMResponse], model: Any) -> list[LLMResponse]:
        again = {i: request for i, request in ((i, self.second_try(a)) for i, a in enumerate(answers))
                 if request is not None}
        if not again:
            return answers
        answers = list(answers)
        for i, response in zip(again, self._answer(list(again.values()), model)):
            answers[i] = response
        return answers

    def _answer(self, batch: Sequence[LLMRequest], model: Any) -> list[LLMResponse]:
        for request in batch:
            if not request.key:
                request.key = request_key(self.model_id, request.messages, request.params, request.sample_index,
                                          request.score_text)
        results: list[Optional[LLMResponse]] = [None] * len(batch)
        misses: list[int] = []
        for index, request in enumerate(batch):
            entry = self.cache.get(request.key) if self.cache is not None else None
            if entry is not None:
                results[index] = LLMResponse.from_cache(request, entry)
            else:
                misses.append(index)
        count(self.stage, "cache_hits", len(batch) - len(misses))
        count(self.stage, "cache_misses", len(misses))
        scoring = [i for i in misses if batch[i].score_text is not None]
        sampling = [i for i in misses if batch[i].score_text is None]
        for hook, indices in ((self.generate, sampling), (self.score, scoring)):
            if not indices:
                continue
            started = time.monotonic()
            fresh = hook([batch[i] for i in indices], model)
            count(self.stage, "engine_ms", int((time.monotonic() - started) * 1000))
            if len(fresh) != len(indices):
                raise RuntimeError(f"{type(self).__name__}.{hook.__name__} returned {len(fresh)} responses for "
                                   f"{len(indices)} requests")
            for index, response in zip(indices, fresh):
                self.remember(response)
                results[index] = response
        return [r for r in results if r is not None]
