"""Any server that speaks the OpenAI chat completions API: vLLM serve, SGLang, TGI, hosted APIs; scoring on
servers that offer it (`openai.scoring`, see openai_scoring.py).

Requests of a batch run concurrently (asyncio + aiohttp) up to `max_concurrency`, under optional
requests-per-minute and tokens-per-minute limits. 429, 5xx, timeouts, dropped connections and malformed
bodies are retried with exponential backoff and jitter; a Retry-After header is honoured. Other 4xx
answers fail at once. The API key is read from the environment variable named in the config at request
time and is sent only in the Authorization header: it is never logged, stored or put in an error text.
Each response is written to the cache as soon as it arrives, so a killed run loses at most the requests
in flight.

The client is aiohttp, not httpx: measured against the same local server (200 ms per request), httpx 0.28's
connection pool spends so much CPU per request that 64 requests in flight reach 93-142 requests/s of an
ideal 320 (128 in flight: 54 of 640), while aiohttp reaches 308 (601); see bench/http_clients.py.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import threading
import time
import weakref
from typing import Any, Callable, Optional

from prefmill.schemas.redact import register_secret
from prefmill.transforms.base import count
from prefmill.transforms.llm.adaptive import OVERLOAD_STATUS, AdaptiveGate
from prefmill.transforms.llm.base import LLMHandler, LLMRequest, LLMResponse, SamplingParams
from prefmill.transforms.llm.openai_scoring import (
    echo_body, parse_echo, parse_tokens, server_root, tokenize_chat_body, tokenize_text_body,
)
from prefmill.transforms.llm.options import OpenAIOptions

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class RateLimiter:
    """A token bucket refilled continuously: `rate_per_minute` units, bursts up to one second's worth or
    one unit, whichever is larger. Thread-safe; waiting happens in the caller's event loop."""

    def __init__(self, rate_per_minute: float, clock=time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()
        self.lock = threading.Lock()

    def reserve(self, amount: float) -> float:
        """Take `amount` units; returns how long the caller must wait before using them."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            self.tokens -= amount
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


def retry_after_seconds(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date.

    >>> retry_after_seconds("3"), retry_after_seconds("0.5"), retry_after_seconds(None), retry_after_seconds("soon")
    (3.0, 0.5, None, None)
    """
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def build_body(model_id: str, request: LLMRequest, n: int = 1) -> dict:
    params = request.params
    body: dict[str, Any] = {
        "model": model_id,
        "messages": request.messages,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "n": n,
    }
    if params.seed is not None:
        body["seed"] = params.seed + request.sample_index
    if params.stop:
        body["stop"] = params.stop
    if params.json_schema is not None:
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": "response", "schema": params.json_schema}}
    if params.logprobs:
        body["logprobs"] = True
    return body


# reason codes of failed requests (dead letters; all count as infrastructure failures in the run summary)
TIMEOUT, CONNECTION_ERROR, MALFORMED, UNSUPPORTED_N = "timeout", "connection_error", "malformed_response", "unsupported_n"


class _Failure(Exception):
    """A failed attempt; `reason` is its reason code (what kind of failure, never parsed from the text)."""

    def __init__(self, message: str, reason: str, status: Optional[int] = None, retryable: bool = True,
                 retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def parse_choices(payload: Any, n: int = 1, logprobs: bool = False) -> tuple[list[tuple], Optional[int], Optional[int]]:
    """([(text, finish_reason, token logprobs or None)] for choices 0..n-1, prompt_tokens, completion_tokens)
    from a chat completion.

    >>> parse_choices({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}], "usage": {}})
    ([('hi', 'stop', None)], None, None)
    """
    try:
        choices = sorted(payload["choices"], key=lambda c: c.get("index", 0))
        texts = [(c["message"]["content"], c.get("finish_reason"),
                  [t["logprob"] for t in c["logprobs"]["content"]] if logprobs else None) for c in choices]
    except (KeyError, IndexError, TypeError, AttributeError):
        wanted = "choices[i].message.content" + (" and choices[i].logprobs.content" if logprobs else "")
        raise _Failure(f"malformed response: no {wanted}", MALFORMED) from None
    if len(texts) < n:
        raise _Failure(f"asked for n={n} samples in one request, the server answered {len(texts)}; this server "
                       "does not support n: set openai.samples_per_request: 1", UNSUPPORTED_N, retryable=False)
    if not all(isinstance(text, str) for text, _, _ in texts[:n]):
        raise _Failure("malformed response: content is not text", MALFORMED)
    if logprobs and not all(isinstance(v, (int, float)) for _, _, values in texts[:n] for v in values):
        raise _Failure("malformed response: a logprob is not a number", MALFORMED)
    usage = payload.get("usage") or {}
    return texts[:n], usage.get("prompt_tokens"), usage.get("completion_tokens")


def group_samples(requests: list[LLMRequest], per_request: int) -> list[list[LLMRequest]]:
    """Requests that differ only in sample index, in runs of consecutive indices of at most `per_request`:
    each run becomes one HTTP request with n = its length (seed = the run's first sample seed).

    >>> p = SamplingParams()
    >>> rs = [LLMRequest("q", "m", [{"role": "user", "content": "x"}], p, i) for i in (0, 1, 2, 5)]
    >>> [[r.sample_index for r in g] for g in group_samples(rs, 2)]
    [[0, 1], [2], [5]]
    """
    if per_request <= 1:
        return [[r] for r in requests]
    by_prompt: dict[str, list[LLMRequest]] = {}
    for request in requests:
        same = json.dumps([request.prompt_id, request.messages, request.params.model_dump(mode="json")], sort_keys=True)
        by_prompt.setdefault(same, []).append(request)
    groups = []
    for members in by_prompt.values():
        members.sort(key=lambda r: r.sample_index)
        run = [members[0]]
        for request in members[1:]:
            if request.sample_index == run[-1].sample_index + 1 and len(run) < per_request:
                run.append(request)
            else:
                groups.append(run)
                run = [request]
        groups.append(run)
    return groups


class ServerEndpoint:
    """What `load_model` returns: one event loop thread and one pooled HTTP session, alive across batches,
    so connections are reused instead of reopened for every batch. (An object, not a dict: Beam shares
    models through weak references.)"""

    def __init__(self, base_url: str, options: OpenAIOptions, on_change=None) -> None:
        import aiohttp

        self.base_url = base_url
        # how many requests may be in flight, for every batch of this worker (AIMD: see adaptive.py)
        self.pool = None
        if options.machine_concurrency:
            from prefmill.transforms.llm.machine_slots import MachineSlots

            self.pool = MachineSlots(base_url, options.machine_concurrency)
        self.gate = AdaptiveGate(options.max_concurrency, options.min_concurrency, options.adaptive_concurrency,
                                 on_change=on_change, pool=self.pool)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="prefmill-openai-loop", daemon=True)
        self.thread.start()

        async def make_session():
            # one connection per request in flight; the semaphore in the handler is what bounds concurrency
            connector = aiohttp.TCPConnector(limit=options.max_concurrency, limit_per_host=0)
            return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=options.timeout_s))

        self.client = self.run(make_session())
        # Beam never closes a model: close the session when the endpoint is dropped or the process exits,
        # while the loop still runs (aiohttp otherwise warns about an unclosed session at shutdown)
        self._finalizer = weakref.finalize(self, _shut_down, self.loop, self.client, self.pool)

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self._finalizer()


def _shut_down(loop: asyncio.AbstractEventLoop, session, pool=None) -> None:
    if loop.is_running():
        try:
            asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=5)
        except Exception:  # noqa: BLE001  # best effort at shutdown: the process is leaving anyway
            pass
        loop.call_soon_threadsafe(loop.stop)
    if pool is not None:
        pool.close()  # its slot files' descriptors, and any lock still held with them


class OpenAICompatibleHandler(LLMHandler):
    backend = "openai"

    def __init__(self, *, model_id: str, options: OpenAIOptions, cache_path: Optional[str] = None,
                 max_batch_size: int = 256, sleep=asyncio.sleep, clock=time.monotonic) -> None:
        # With a machine pool, batches start at one round of the pool and grow (Beam's BatchElements estimate,
        # no duration cap) up to max_batch_size: another worker covers a batch end, so small first batches
        # send the first requests sooner and uneven sizes keep workers from ending batches together.
        # Without one, every batch end drains this worker's share: full batches from the start.
        first = options.machine_concurrency * options.samples_per_request if options.machine_concurrency else None
        super().__init__(model_id=model_id, cache_path=cache_path, max_batch_size=max_batch_size,
                         min_batch_size=min(first, max_batch_size) if first else None)
        self.options = options
        self._sleep = sleep
        self._clock = clock
        self._rpm: Optional[RateLimiter] = None
        self._tpm: Optional[RateLimiter] = None

    def load_model(self) -> "ServerEndpoint":
        # The "model" is only connection state: one aiohttp session on the endpoint's own event loop thread,
        # shared by every batch of this worker and closed when the endpoint is dropped or the process exits.
        if self.options.requests_per_minute:
            self._rpm = RateLimiter(self.options.requests_per_minute, self._clock)
        if self.options.tokens_per_minute:
            self._tpm = RateLimiter(self.options.tokens_per_minute, self._clock)
        count(self.stage, "concurrency", self.options.max_concurrency)  # the summary: the sum of settled limits

        def changed(old: int, new: int) -> None:
            count(self.stage, "concurrency", new - old)
            if new < old:
                count(self.stage, "concurrency_backoffs")

        return ServerEndpoint(self.options.base_url.rstrip("/"), self.options, on_change=changed)

    def batch_elements_kwargs(self) -> dict:
        kwargs = super().batch_elements_kwargs()
        if self.options.machine_concurrency:
            kwargs["target_batch_duration_secs"] = None  # grow by overhead alone, up to max_batch_size
        return kwargs

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.options.api_key_env:
            key = os.environ.get(self.options.api_key_env)
            if key:
                register_secret(key)  # whatever a server echoes back is redacted before it becomes a record
                headers["Authorization"] = f"Bearer {key}"
        return headers

    def generate(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        return model.run(self._generate_all(requests, model))

    async def _generate_all(self, requests: list[LLMRequest], endpoint: ServerEndpoint) -> list[LLMResponse]:
        gate = endpoint.gate
        groups = group_samples(requests, self.options.samples_per_request)
        answered = await asyncio.gather(*(self._one(endpoint.client, gate, endpoint.base_url, g) for g in groups))
        by_request = {id(r.request): r for responses in answered for r in responses}
        return [by_request[id(request)] for request in requests]

    async def _wait_for_rate(self, request: LLMRequest, n: int = 1) -> None:
        waits = []
        if self._rpm is not None:
            waits.append(self._rpm.reserve(1))
        if self._tpm is not None:
            chars = sum(len(str(m.get("content", ""))) for m in request.messages)
            waits.append(self._tpm.reserve(chars / 4 + n * request.params.max_tokens))
        delay = max(waits, default=0.0)
        if delay > 0:
            await self._sleep(delay)

    async def _one(self, client, gate: asyncio.Semaphore, base_url: str,
                   group: list[LLMRequest]) -> list[LLMResponse]:
        """One HTTP request for a group of samples (n = len(group)), with retries; one response per sample."""
        request, n = group[0], len(group)
        started = self._clock()

        def responses(payload: Any) -> list[LLMResponse]:
            texts, prompt_tokens, completion_tokens = parse_choices(payload, n, request.params.logprobs)
            # a server reports usage per request: with n > 1 each sample gets an even share
            share = completion_tokens // n if completion_tokens is not None else None
            return [LLMResponse(request=member, text=text, finish_reason=finish, prompt_tokens=prompt_tokens,
                                completion_tokens=share, latency_s=self._clock() - started, token_logprobs=values)
                    for member, (text, finish, values) in zip(group, texts)]

        answered, failure, attempts = await self._post(client, gate, f"{base_url}/chat/completions",
                                                       build_body(self.model_id, request, n), request, n, responses)
        if failure is not None:
            return [LLMResponse(request=member, error=str(failure), status=failure.status, reason=failure.reason,
                                attempts=attempts) for member in group]
        for response in answered:
            response.attempts = attempts
            self.remember(response)
        return answered

    async def _post(self, client, gate: asyncio.Semaphore, url: str, body: dict, request: LLMRequest, n: int,
                    parse: Callable[[Any], Any]) -> tuple[Any, Optional[_Failure], int]:
        """POST `body` with retries and backoff: (parse(payload), None, attempts), or (None, the last
        failure, attempts). `parse` raises _Failure for an answer it cannot use."""
        import aiohttp

        attempts = 0
        last: Optional[_Failure] = None
        while attempts <= self.options.max_retries:
            attempts += 1
            # the rate limit is waited for before the gate: a request sleeping for its turn holds no slot
            await self._wait_for_rate(request, n)
            async with gate:
                failure: Optional[_Failure] = None
                try:
                    async with client.post(url, json=body, headers=self._headers()) as reply:
                        status, data = reply.status, await reply.read()
                        retry_after = reply.headers.get("retry-after")
                    if status != 200:
                        text = data[:200].decode("utf-8", "replace")
                        raise _Failure(f"HTTP {status}: {text}", f"http_{status}", status=status,
                                       retryable=status in RETRYABLE_STATUS,
                                       retry_after=retry_after_seconds(retry_after))
                    try:
                        payload = json.loads(data)
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        raise _Failure("malformed response: body is not JSON", MALFORMED, status=200) from None
                    return parse(payload), None, attempts
                except _Failure as caught:
                    failure = caught
                except asyncio.TimeoutError:  # also aiohttp's ServerTimeoutError
                    failure = _Failure(f"timed out after {self.options.timeout_s}s", TIMEOUT)
                except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                    failure = _Failure(f"connection error: {type(exc).__name__}", CONNECTION_ERROR)
                finally:  # the gate learns from every attempt: overload halves it, an answer grows it
                    overloaded = failure is not None and (
                        failure.status in OVERLOAD_STATUS or failure.reason == TIMEOUT)
                    (gate.overloaded if overloaded else gate.answered)()
            last = failure
            if not last.retryable or attempts > self.options.max_retries:
                break
            backoff = min(self.options.backoff_max_s, self.options.backoff_base_s * 2 ** (attempts - 1))
            backoff *= random.uniform(0.5, 1.5)
            if last.retry_after is not None:
                backoff = max(backoff, min(last.retry_after, self.options.backoff_max_s))
            await self._sleep(backoff)
        assert last is not None
        return None, last, attempts

    # -- scoring (servers with openai.scoring: vLLM's, SGLang's) --------------------------------------
    def score(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        return model.run(self._score_all(requests, model))

    async def _score_all(self, requests: list[LLMRequest], endpoint: ServerEndpoint) -> list[LLMResponse]:
        gate = endpoint.gate
        return list(await asyncio.gather(*(self._score_one(endpoint.client, gate, endpoint.base_url, r)
                                           for r in requests)))

    async def _score_one(self, client, gate: asyncio.Semaphore, base_url: str, request: LLMRequest) -> LLMResponse:
        """Three calls: the server's tokenizer renders and tokenizes the prompt and, apart, the text (as
        every backend does, see scoring.py); then /completions echoes the joined tokens with their logprobs."""
        started = self._clock()
        root, attempts = server_root(base_url), 0
        steps = ((f"{root}/tokenize", tokenize_chat_body(self.model_id, request.messages), _readable(parse_tokens)),
                 (f"{root}/tokenize", tokenize_text_body(self.model_id, request.score_text), _readable(parse_tokens)))
        parts = []
        for url, body, parse in steps:
            value, failure, tries = await self._post(client, gate, url, body, request, 1, parse)
            attempts += tries
            if failure is not None:
                return LLMResponse(request=request, error=f"scoring, {url}: {failure}", status=failure.status,
                                   reason=failure.reason, attempts=attempts)
            parts.append(value)
        prompt_ids, text_ids = parts
        ids = prompt_ids + text_ids
        values: list[float] = []
        if text_ids:
            values, failure, tries = await self._post(
                client, gate, f"{base_url}/completions", echo_body(self.model_id, ids), request, 1,
                _readable(lambda payload: parse_echo(payload, len(prompt_ids), len(ids))))
            attempts += tries
            if failure is not None:
                return LLMResponse(request=request, error=f"scoring, /completions: {failure}", status=failure.status,
                                   reason=failure.reason, attempts=attempts)
        response = LLMResponse(request=request, token_logprobs=values, prompt_tokens=len(prompt_ids),
                               completion_tokens=len(text_ids), latency_s=self._clock() - started, attempts=attempts)
        self.remember(response)
        return response


def _readable(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`parse` with its ValueError reported as a malformed response (retried like one)."""
    def read(payload: Any) -> Any:
        try:
            return parse(payload)
        except ValueError as exc:
            raise _Failure(f"malformed response: {exc}", MALFORMED) from None
    return read
