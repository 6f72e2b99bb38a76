"""Any server that speaks the OpenAI chat completions API: vLLM serve, SGLang, TGI, hosted APIs.

Requests of a batch run concurrently (asyncio + httpx) up to `max_concurrency`, under optional
requests-per-minute and tokens-per-minute limits. 429, 5xx, timeouts, dropped connections and malformed
bodies are retried with exponential backoff and jitter; a Retry-After header is honoured. Other 4xx
answers fail at once. The API key is read from the environment variable named in the config at request
time and is sent only in the Authorization header: it is never logged, stored or put in an error text.
Each response is written to the cache as soon as it arrives, so a killed run loses at most the requests
in flight.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import threading
import time
from typing import Any, Optional

from prefmill.transforms.llm.base import LLMHandler, LLMRequest, LLMResponse
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


def build_body(model_id: str, request: LLMRequest) -> dict:
    params = request.params
    body: dict[str, Any] = {
        "model": model_id,
        "messages": request.messages,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
        "n": 1,
    }
    if params.seed is not None:
        body["seed"] = params.seed + request.sample_index
    if params.stop:
        body["stop"] = params.stop
    if params.json_schema is not None:
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": "response", "schema": params.json_schema}}
    return body


class _Failure(Exception):
    def __init__(self, message: str, status: Optional[int] = None, retryable: bool = True,
                 retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


def parse_response(payload: Any) -> tuple[str, Optional[str], Optional[int], Optional[int]]:
    """(text, finish_reason, prompt_tokens, completion_tokens) from a chat completion body."""
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise _Failure("malformed response: no choices[0].message.content") from None
    if not isinstance(text, str):
        raise _Failure("malformed response: content is not text")
    usage = payload.get("usage") or {}
    return text, choice.get("finish_reason"), usage.get("prompt_tokens"), usage.get("completion_tokens")


class ServerEndpoint:
    """What `load_model` returns: one event loop thread and one pooled HTTP client, alive across batches,
    so connections are reused instead of reopened for every batch. (An object, not a dict: Beam shares
    models through weak references.)"""

    def __init__(self, base_url: str, options: OpenAIOptions) -> None:
        import httpx

        self.base_url = base_url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="prefmill-openai-loop", daemon=True)
        self.thread.start()
        limits = httpx.Limits(max_connections=options.max_concurrency,
                              max_keepalive_connections=options.max_concurrency)

        async def make_client():
            return httpx.AsyncClient(timeout=options.timeout_s, limits=limits)

        self.client = self.run(make_client())

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        if self.loop.is_running():
            self.run(self.client.aclose())
            self.loop.call_soon_threadsafe(self.loop.stop)


class OpenAICompatibleHandler(LLMHandler):
    backend = "openai"

    def __init__(self, *, model_id: str, options: OpenAIOptions, cache_path: Optional[str] = None,
                 max_batch_size: int = 256, sleep=asyncio.sleep, clock=time.monotonic) -> None:
        super().__init__(model_id=model_id, cache_path=cache_path, max_batch_size=max_batch_size)
        self.options = options
        self._sleep = sleep
        self._clock = clock
        self._rpm: Optional[RateLimiter] = None
        self._tpm: Optional[RateLimiter] = None

    def load_model(self) -> "ServerEndpoint":
        # The "model" is only connection state; the HTTP client lives inside each batch's event loop.
        if self.options.requests_per_minute:
            self._rpm = RateLimiter(self.options.requests_per_minute, self._clock)
        if self.options.tokens_per_minute:
            self._tpm = RateLimiter(self.options.tokens_per_minute, self._clock)
        return ServerEndpoint(self.options.base_url.rstrip("/"), self.options)

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.options.api_key_env:
            key = os.environ.get(self.options.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
        return headers

    def generate(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        return model.run(self._generate_all(requests, model))

    async def _generate_all(self, requests: list[LLMRequest], endpoint: ServerEndpoint) -> list[LLMResponse]:
        gate = asyncio.Semaphore(self.options.max_concurrency)
        tasks = [self._one(endpoint.client, gate, endpoint.base_url, request) for request in requests]
        return list(await asyncio.gather(*tasks))

    async def _wait_for_rate(self, request: LLMRequest) -> None:
        waits = []
        if self._rpm is not None:
            waits.append(self._rpm.reserve(1))
        if self._tpm is not None:
            chars = sum(len(str(m.get("content", ""))) for m in request.messages)
            waits.append(self._tpm.reserve(chars / 4 + request.params.max_tokens))
        delay = max(waits, default=0.0)
        if delay > 0:
            await self._sleep(delay)

    async def _one(self, client, gate: asyncio.Semaphore, base_url: str, request: LLMRequest) -> LLMResponse:
        import httpx

        body = build_body(self.model_id, request)
        attempts = 0
        last: Optional[_Failure] = None
        while attempts <= self.options.max_retries:
            attempts += 1
            async with gate:
                await self._wait_for_rate(request)
                started = self._clock()
                try:
                    reply = await client.post(f"{base_url}/chat/completions", json=body, headers=self._headers())
                    if reply.status_code != 200:
                        raise _Failure(f"HTTP {reply.status_code}: {reply.text[:200]}", status=reply.status_code,
                                       retryable=reply.status_code in RETRYABLE_STATUS,
                                       retry_after=retry_after_seconds(reply.headers.get("retry-after")))
                    try:
                        payload = reply.json()
                    except (json.JSONDecodeError, ValueError):
                        raise _Failure("malformed response: body is not JSON", status=200) from None
                    text, finish, prompt_tokens, completion_tokens = parse_response(payload)
                    response = LLMResponse(request=request, text=text, finish_reason=finish,
                                           prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                                           latency_s=self._clock() - started, attempts=attempts)
                    self.remember(response)
                    return response
                except _Failure as failure:
                    last = failure
                except httpx.TimeoutException:
                    last = _Failure(f"timed out after {self.options.timeout_s}s")
                except httpx.TransportError as exc:
                    last = _Failure(f"connection error: {type(exc).__name__}")
            if not last.retryable or attempts > self.options.max_retries:
                break
            backoff = min(self.options.backoff_max_s, self.options.backoff_base_s * 2 ** (attempts - 1))
            backoff *= random.uniform(0.5, 1.5)
            if last.retry_after is not None:
                backoff = max(backoff, min(last.retry_after, self.options.backoff_max_s))
            await self._sleep(backoff)
        assert last is not None
        return LLMResponse(request=request, error=str(last), status=last.status, attempts=attempts)
