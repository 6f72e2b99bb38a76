"""Batch API backends (`openai_batch`, `anthropic_batch`): the same requests as the online backends, sent as
provider batches at about half the price, answered within the provider's window (up to 24 hours).

One `generate` call (one RunInference batch) runs to the end: its requests not already cached are written as
batch lines (one per distinct request key; the key is the `custom_id`), split at the provider's limits
(requests and bytes per batch), submitted, polled with a growing interval, and read back: answers go to the
response cache as every backend's do, error lines become dead letters with their reason, and requests a
batch never ran (it expired or was cancelled, or its result line could not be read) are submitted again,
alone, up to `max_submissions` times in all.

Every submission is written down in the batch ledger beside the response cache (`<cache>/batches/`) before
and after it is created: which keys it holds, its input file and its batch id. A run killed mid-poll (or a
bundle Dataflow retries on another worker) reads the ledger and polls the batches already submitted
instead of submitting their requests again; a run killed between creating a batch and writing its id down
finds it by its input file (OpenAI). The worker that holds a RunInference batch owns its polling.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import Counter
from typing import Any, Callable, Optional

from prefmill.transforms.base import count
from prefmill.transforms.llm.base import LLMHandler, LLMRequest, LLMResponse
from prefmill.transforms.llm.batch_providers import (
    FINISHED, PROVIDERS, ApiError, BatchApi, Outcome, Status,
)
from prefmill.transforms.llm.cache import ResponseCache
from prefmill.transforms.llm.options import BatchOptions

BATCH_FAILED, BATCH_UNFINISHED = "batch_failed", "batch_unfinished"
SUBMITTING, COLLECTED = "submitting", "collected"  # ledger states besides the provider's


class BatchLedger(ResponseCache):
    """The batches submitted for one response cache: one JSON entry per submission, flat under `root`."""

    def path(self, key: str) -> str:
        return f"{self.root}/{key}.json"

    def entries(self) -> list[dict]:
        if self.remote:
            from apache_beam.io.filesystems import FileSystems

            names = [m.path.rsplit("/", 1)[-1] for m in FileSystems.match([f"{self.root}/*.json"])[0].metadata_list]
        else:
            import os

            names = [n for n in os.listdir(self.root) if n.endswith(".json")] if os.path.isdir(self.root) else []
        found = (self.get(name[:-len(".json")]) for name in sorted(names))
        return [entry for entry in found if isinstance(entry, dict) and isinstance(entry.get("keys"), list)]


class _MemoryLedger:
    """The ledger of a handler without a cache (tests of one call): nothing survives the process."""

    def __init__(self) -> None:
        self.saved: dict[str, dict] = {}

    def entries(self) -> list[dict]:
        return [dict(e) for e in self.saved.values()]

    def put(self, key: str, value: dict) -> None:
        self.saved[key] = dict(value)

    def get(self, key: str) -> Optional[dict]:
        return dict(self.saved[key]) if key in self.saved else None


class BatchHandler(LLMHandler):
    """A provider's batch API behind the LLMHandler hook. `clock` is wall time (ledger entries outlive the
    process); `sleep` waits between polls. Both are injected in tests."""

    backend = "openai_batch"
    provider = "openai"

    def __init__(self, *, model_id: str, options: BatchOptions, cache_path: Optional[str] = None,
                 max_batch_size: int = 50_000, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(model_id=model_id, cache_path=cache_path, max_batch_size=max_batch_size)
        self.options = options
        self._sleep = sleep
        self._clock = clock
        self._ledger: Any = None
        self._run = uuid.uuid4().hex  # batches of another run, found in the ledger, count as resumed
        # an entry still being created is left to its creator this long (two API call timeouts)
        self.adopt_after = 2 * options.timeout_s

    def load_model(self) -> BatchApi:
        return PROVIDERS[self.provider](self.options, self.model_id, sleep=self._sleep)

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            self._ledger = BatchLedger(f"{self.cache_path.rstrip('/')}/batches") if self.cache_path else _MemoryLedger()
        return self._ledger

    # -- the run -------------------------------------------------------------------------------------
    def generate(self, requests: list[LLMRequest], api: BatchApi) -> list[LLMResponse]:
        by_key: dict[str, list[LLMRequest]] = {}
        for request in requests:
            by_key.setdefault(request.key, []).append(request)
        done: dict[str, LLMResponse] = {}
        last_word: dict[str, str] = {}  # why a key is still open: what its last batch said about it
        started = self._clock()
        while True:
            open_keys = set(by_key) - set(done)
            if not open_keys:
                break
            # this provider's and endpoint's entries only: a batch id means nothing to another endpoint
            entries = [e for e in self.ledger.entries()
                       if e.get("provider") == api.name and e.get("base_url") == api.base_url]
            live = [e for e in entries if e["state"] != COLLECTED and open_keys & set(e["keys"])]
            # submissions by this run: a rerun starts afresh (it finds finished answers in the cache)
            submitted = Counter(k for e in entries if e.get("batch_id") and e.get("run") == self._run
                                for k in e["keys"])
            covered = {k for e in live for k in e["keys"]}
            fresh = []
            for key in sorted(open_keys - covered):
                if submitted[key] >= self.options.max_submissions:
                    done[key] = self._dead(by_key[key][0], "batch_unfinished", f"no answer after {submitted[key]} "
                                           f"batch submission(s): {last_word.get(key, 'no result line')}")
                else:
                    fresh.append(key)
            count(self.stage, "batch_resumed", sum(1 for e in live if e.get("run") != self._run))
            count(self.stage, "batch_requests_resubmitted", sum(1 for k in fresh if submitted[k]))
            live += self._submit(api, fresh, by_key, done)
            if live:
                self._wait(api, live, by_key, done, last_word)
        count(self.stage, "batch_wait_ms", int((self._clock() - started) * 1000))
        # one answer per distinct key: each request gets it as its own response
        return [dataclasses.replace(done[request.key], request=request) for request in requests]

    def _dead(self, request: LLMRequest, reason: str, error: str, status: Optional[int] = None) -> LLMResponse:
        return LLMResponse(request=request, error=error[:2000], reason=reason, status=status, attempts=0)

    def _submit(self, api: BatchApi, keys: list[str], by_key: dict[str, list[LLMRequest]],
                done: dict[str, LLMResponse]) -> list[dict]:
        """Submit `keys` in batches within the provider's limits; returns their ledger entries."""
        chunks: list[list[tuple[str, bytes]]] = [[]]
        size = 0
        for key in keys:
            line = api.line(key, by_key[key][0])
            if len(line) + 1 > self.options.max_bytes_per_batch:
                done[key] = self._dead(by_key[key][0], "batch_failed", f"this request's batch line is {len(line):,} "
                                       f"bytes, over max_bytes_per_batch ({self.options.max_bytes_per_batch:,})")
                continue
            if chunks[-1] and (len(chunks[-1]) >= self.options.max_requests_per_batch
                               or size + len(line) + 1 > self.options.max_bytes_per_batch):
                chunks.append([])
                size = 0
            chunks[-1].append((key, line))
            size += len(line) + 1
        entries = []
        for chunk in filter(None, chunks):
            lines = [line for _, line in chunk]
            handle = api.prepare(lines)
            entry = {"id": uuid.uuid4().hex, "provider": api.name, "base_url": api.base_url, "model": self.model_id,
                     "keys": [key for key, _ in chunk], "handle": handle, "batch_id": None, "state": SUBMITTING,
                     "submitted_at": self._clock(), "run": self._run}
            self.ledger.put(entry["id"], entry)  # before creating: a kill after `create` finds it by its handle
            entry["batch_id"] = api.create(handle, lines)
            entry["state"] = "validating"
            self.ledger.put(entry["id"], entry)
            count(self.stage, "batch_submitted")
            count(self.stage, "batch_requests_submitted", len(chunk))
            entries.append(entry)
        return entries

    def _adopt(self, api: BatchApi, entry: dict) -> bool:
        """An entry written just before its batch was created: find the batch, or create it now. False if
        neither can be done (Anthropic takes requests inline: nothing to find it by). A young entry may be
        another worker's, creating its batch right now: it is waited for until it is `adopt_after` old."""
        while self._clock() - entry["submitted_at"] < self.adopt_after:
            self._sleep(min(self.options.poll_interval_s, self.adopt_after))
            current = self.ledger.get(entry["id"])
            if current and current.get("batch_id"):
                entry.update(current)
                return True
        batch_id = api.find(entry.get("handle")) if entry.get("handle") else None
        if batch_id is None and entry.get("handle"):
            batch_id = api.create(entry["handle"], [])
        if batch_id is None:
            entry["state"] = COLLECTED  # never submitted as far as anyone can tell: its keys are open again
            self.ledger.put(entry["id"], entry)
            return False
        entry["batch_id"], entry["state"] = batch_id, "validating"
        self.ledger.put(entry["id"], entry)
        return True

    def _wait(self, api: BatchApi, live: list[dict], by_key: dict[str, list[LLMRequest]],
              done: dict[str, LLMResponse], last_word: dict[str, str]) -> None:
        """Poll every live batch until each has finished and been collected."""
        live = [e for e in live if e["state"] != SUBMITTING or self._adopt(api, e)]
        interval = self.options.poll_interval_s
        while live:
            still = []
            for entry in live:
                try:
                    status = api.status(entry["batch_id"])
                except ApiError as exc:
                    if exc.status not in (404, 410):
                        raise
                    # deleted, archived or another account's: its keys are open again, for a new batch
                    entry["state"], entry["ended_as"] = COLLECTED, "lost"
                    self.ledger.put(entry["id"], entry)
                    count(self.stage, "batch_lost")
                    continue
                if status.state != entry["state"]:
                    entry["state"] = status.state
                    self.ledger.put(entry["id"], entry)
                if status.state in FINISHED:
                    self._collect(api, entry, status, by_key, done, last_word)
                    continue
                waited = self._clock() - entry["submitted_at"]
                if self.options.max_wait_s and waited > self.options.max_wait_s and not entry.get("gave_up"):
                    entry["gave_up"] = True
                    self.ledger.put(entry["id"], entry)
                    try:
                        api.cancel(entry["batch_id"])
                    except ApiError:
                        pass  # it ended meanwhile (or cannot be cancelled): the next poll says which
                still.append(entry)
            live = still
            if live:
                self._sleep(interval)
                interval = min(self.options.poll_max_interval_s, interval * 1.5)

    def _collect(self, api: BatchApi, entry: dict, status: Status, by_key: dict[str, list[LLMRequest]],
                 done: dict[str, LLMResponse], last_word: dict[str, str]) -> None:
        """Read a finished batch: every answer into the cache (also answers to other workers' requests: they
        are paid for), this call's errors into `done`, and the rest left open for another submission."""
        count(self.stage, f"batch_{status.state}")
        ours = set(entry["keys"]) & set(by_key)
        gave_up = bool(entry.get("gave_up"))
        if status.state == "failed" and "token_limit_exceeded" in status.message:
            for key in ours - set(done):  # the account's queue was full: a later batch may pass
                last_word[key] = status.message
        elif status.state == "failed":
            for key in ours - set(done):
                done[key] = self._dead(by_key[key][0], "batch_failed",
                                       f"batch {entry['batch_id']} failed: {status.message or 'no reason given'}")
        else:
            prompt = completion = malformed = 0
            for key, outcome in api.results(status):
                if key is None or outcome is None:
                    malformed += 1
                    continue
                if outcome.kind == "ok":
                    prompt += outcome.prompt_tokens or 0
                    completion += outcome.completion_tokens or 0
                    for_key = by_key.get(key, [None])[0]
                    response = self._answer_of(for_key or LLMRequest("", "", [], None, key=key), outcome, entry)
                    self.remember(response)  # now, before the entry is marked collected
                    response.extra["stored"] = True
                    if key in ours:
                        done[key] = response
                elif key in ours and key not in done:
                    if outcome.kind == "error" and not outcome.retryable:
                        reason = f"http_{outcome.status}" if outcome.status else BATCH_FAILED
                        done[key] = self._dead(by_key[key][0], reason, outcome.message, outcome.status)
                    else:
                        last_word[key] = outcome.message or outcome.kind
            count(self.stage, "batch_malformed_lines", malformed)
            count(self.stage, "batch_prompt_tokens", prompt)
            count(self.stage, "batch_completion_tokens", completion)
            self._count_cost(prompt, completion)
        if gave_up:
            for key in ours - set(done):
                done[key] = self._dead(by_key[key][0], "batch_unfinished",
                                       f"batch {entry['batch_id']} was cancelled after max_wait_s "
                                       f"({self.options.max_wait_s:g}s) with this request unfinished")
        entry["state"] = COLLECTED
        entry["ended_as"] = status.state
        self.ledger.put(entry["id"], entry)

    def _answer_of(self, request: LLMRequest, outcome: Outcome, entry: dict) -> LLMResponse:
        return LLMResponse(request=request, text=outcome.text, finish_reason=outcome.finish_reason,
                           prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
                           latency_s=self._clock() - entry["submitted_at"], token_logprobs=outcome.token_logprobs)

    def remember(self, response: LLMResponse) -> None:
        if (self.cache is not None and response.ok and not response.cached and response.request.key
                and not response.extra.get("stored")):
            self.cache.put(response.request.key, response.to_cache())

    def _count_cost(self, prompt: int, completion: int) -> None:
        price = self.options.price
        if price is None:
            return
        online = prompt * price.input_per_mtok + completion * price.output_per_mtok  # micro-dollars
        count(self.stage, "batch_online_cost_micro", int(round(online)))
        count(self.stage, "batch_cost_micro", int(round(online * price.batch_discount)))


class AnthropicBatchHandler(BatchHandler):
    backend = "anthropic_batch"
    provider = "anthropic"


__all__ = ["AnthropicBatchHandler", "ApiError", "BatchHandler", "BatchLedger", "BATCH_FAILED", "BATCH_UNFINISHED"]
