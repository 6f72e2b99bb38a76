"""The batch protocols prefmill speaks: OpenAI's Batch API (and any server offering `/v1/files` and
`/v1/batches` in its shape) and Anthropic's Message Batches. Each turns requests into batch lines, submits
them, reports a batch's state in one vocabulary (OpenAI's: validating, in_progress, finalizing, completed,
failed, expired, cancelling, cancelled) and reads the results back as one `Outcome` per request.

The HTTP client is the standard library's: a batch run makes a few calls a minute, so there is nothing for a
pooled async client to win. Every call retries 429, 5xx and lost connections with backoff. The API key is
read from the environment at call time, sent only in its header and registered for redaction.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from prefmill.schemas.redact import redact, register_secret
from prefmill.transforms.llm.openai_compat import RETRYABLE_STATUS, _Failure, build_body, parse_choices
from prefmill.transforms.llm.options import AnthropicBatchOptions, BatchOptions
from prefmill.transforms.llm.requests import LLMRequest

ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")
FINISHED = ("completed", "failed", "expired", "cancelled")


@dataclass
class Status:
    state: str                     # one of ACTIVE or FINISHED
    output: Optional[str] = None   # where the results are: an output file id, a results URL
    errors: Optional[str] = None   # OpenAI: the error file id
    message: str = ""              # a failed batch: why


@dataclass
class Outcome:
    """What a batch says about one request: `ok` (an answer), `error` (an error line; `retryable` if the
    provider was overloaded or failed) or `unfinished` (expired, cancelled: never run)."""

    kind: str
    text: Optional[str] = None
    finish_reason: Optional[str] = None
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    status: Optional[int] = None
    message: str = ""
    retryable: bool = False
    token_logprobs: Optional[list[float]] = None


class ApiError(RuntimeError):
    """An API call that failed after its retries (or at once, for a 4xx that retrying cannot fix);
    `status` is the last HTTP status, if there was an answer."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class BatchApi:
    """One provider's batch endpoints. Subclasses say how lines, submissions, states and results look."""

    name = "batch"

    def __init__(self, options: BatchOptions, model_id: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self.options = options
        self.model_id = model_id
        self.base_url = options.base_url.rstrip("/")
        self._sleep = sleep

    # -- what a provider defines ---------------------------------------------------------------------------
    def line(self, key: str, request: LLMRequest) -> bytes:
        raise NotImplementedError

    def prepare(self, lines: list[bytes]) -> Optional[str]:
        """Upload what the batch needs before it is created; returns a handle to find the batch by later
        (an input file id), or None where the provider takes the requests inline."""
        return None

    def create(self, handle: Optional[str], lines: list[bytes]) -> str:
        raise NotImplementedError

    def find(self, handle: Optional[str]) -> Optional[str]:
        """The batch created from `handle`, if one was (a run killed between creating a batch and writing
        its id down finds it here instead of submitting it again)."""
        return None

    def status(self, batch_id: str) -> Status:
        raise NotImplementedError

    def results(self, status: Status) -> Iterator[tuple[Optional[str], Optional[Outcome]]]:
        """(custom_id, outcome) per result line; (None, None) for a line that cannot be read."""
        raise NotImplementedError

    def cancel(self, batch_id: str) -> None:
        raise NotImplementedError

    # -- HTTP ------------------------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        return {}

    def _key(self) -> Optional[str]:
        key = os.environ.get(self.options.api_key_env) if self.options.api_key_env else None
        register_secret(key)
        return key or None

    def call(self, method: str, url: str, body: Any = None, data: Optional[bytes] = None,
             content_type: str = "application/json", retry: bool = True) -> bytes:
        """One API call with retries; returns the body of a 2xx answer. `retry=False` for a call that must
        not be repeated blindly (creating a batch: a lost answer may hide a batch that exists)."""
        if not url.startswith(("http://", "https://")):
            url = self.base_url + url
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        headers = {**self.headers(), **({"Content-Type": content_type} if data is not None else {})}
        attempt = 0
        while True:
            attempt += 1
            problem, retry_after, status = "", None, None
            try:
                request = urllib.request.Request(url, data=data, headers=headers, method=method)
                with urllib.request.urlopen(request, timeout=self.options.timeout_s) as reply:
                    return reply.read()
            except urllib.error.HTTPError as exc:
                text = exc.read()[:300].decode("utf-8", "replace")
                problem, status = f"HTTP {exc.code} from {method} {url}: {text}", exc.code
                if exc.code not in RETRYABLE_STATUS:
                    raise ApiError(redact(problem), status) from None
                retry_after = exc.headers.get("retry-after")
            except (urllib.error.URLError, OSError) as exc:
                problem = f"{method} {url}: {type(exc).__name__}: {exc}"
            if attempt > self.options.max_retries or not retry:
                raise ApiError(redact(f"{problem} (after {attempt} attempt(s))"), status)
            wait = min(30.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
            try:
                wait = max(wait, min(30.0, float(retry_after))) if retry_after else wait
            except ValueError:
                pass
            self._sleep(wait)

    def call_json(self, method: str, url: str, body: Any = None, **kwargs) -> dict:
        raw = self.call(method, url, body, **kwargs)
        try:
            payload = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(f"{method} {url}: the answer is not JSON: {raw[:200]!r}") from None
        if not isinstance(payload, dict):
            raise ApiError(f"{method} {url}: the answer is not a JSON object")
        return payload


def _lines(raw: bytes) -> Iterator[Any]:
    """Each non-empty line of a JSONL download, parsed; None for a line that is not JSON."""
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            yield None


class OpenAIBatches(BatchApi):
    """OpenAI's Batch API: a JSONL file of /v1/chat/completions bodies, uploaded with purpose `batch`."""

    name = "openai"

    def headers(self) -> dict[str, str]:
        key = self._key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def line(self, key: str, request: LLMRequest) -> bytes:
        entry = {"custom_id": key, "method": "POST", "url": "/v1/chat/completions",
                 "body": build_body(self.model_id, request)}
        return json.dumps(entry, ensure_ascii=False).encode("utf-8")

    def prepare(self, lines: list[bytes]) -> Optional[str]:
        boundary = uuid.uuid4().hex
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"prefmill.jsonl\"\r\n"
                "Content-Type: application/jsonl\r\n\r\n").encode()
        data = head + b"\n".join(lines) + b"\n" + f"\r\n--{boundary}--\r\n".encode()
        uploaded = self.call_json("POST", "/files", data=data, content_type=f"multipart/form-data; boundary={boundary}")
        if not uploaded.get("id"):
            raise ApiError(f"the file upload answered no id: {str(uploaded)[:200]}")
        return uploaded["id"]

    def create(self, handle: Optional[str], lines: list[bytes]) -> str:
        body = {"input_file_id": handle, "endpoint": "/v1/chat/completions",
                "completion_window": self.options.completion_window, "metadata": {"created_by": "prefmill"}}
        for attempt in range(self.options.max_retries + 1):
            try:
                batch = self.call_json("POST", "/batches", body, retry=False)
                break
            except ApiError as exc:  # the batch may exist all the same: look for it before asking again
                if (exc.status is not None and exc.status not in RETRYABLE_STATUS) or attempt == self.options.max_retries:
                    raise
                found = self.find(handle)
                if found:
                    return found
                self._sleep(min(30.0, 0.5 * 2 ** attempt))
        if not batch.get("id"):
            raise ApiError(f"the batch was not created: {str(batch)[:200]}")
        return batch["id"]

    def find(self, handle: Optional[str]) -> Optional[str]:
        after = None
        for _ in range(10):  # the newest 1,000 batches: a run resumed within the day finds its own
            listed = self.call_json("GET", "/batches?limit=100" + (f"&after={after}" if after else ""))
            for batch in listed.get("data") or []:
                if isinstance(batch, dict) and batch.get("input_file_id") == handle:
                    return batch.get("id")
            if not listed.get("has_more") or not listed.get("data"):
                return None
            after = listed["data"][-1].get("id")
        return None

    def status(self, batch_id: str) -> Status:
        batch = self.call_json("GET", f"/batches/{batch_id}")
        state = batch.get("status")
        if state not in ACTIVE + FINISHED:
            raise ApiError(f"batch {batch_id}: unknown status {state!r}")
        errors = ((batch.get("errors") or {}).get("data") or [])
        message = "; ".join(f"{e.get('code')}: {e.get('message')}" + (f" (line {e['line']})" if e.get("line") else "")
                            for e in errors[:5] if isinstance(e, dict))
        return Status(state, batch.get("output_file_id"), batch.get("error_file_id"), message)

    def results(self, status: Status) -> Iterator[tuple[Optional[str], Optional[Outcome]]]:
        for file_id in (status.output, status.errors):
            if not file_id:
                continue
            for entry in _lines(self.call("GET", f"/files/{file_id}/content")):
                yield self._read(entry)

    def _read(self, entry: Any) -> tuple[Optional[str], Optional[Outcome]]:
        if not isinstance(entry, dict) or not isinstance(entry.get("custom_id"), str):
            return None, None
        key, response, error = entry["custom_id"], entry.get("response"), entry.get("error")
        if not isinstance(response, dict):
            if isinstance(error, dict):  # never run: batch_expired, batch_cancelled
                return key, Outcome("unfinished", message=f"{error.get('code')}: {error.get('message')}")
            return None, None
        code, body = response.get("status_code"), response.get("body")
        if code != 200:
            text = json.dumps(body)[:300] if body is not None else ""
            return key, Outcome("error", status=code if isinstance(code, int) else None,
                                message=f"HTTP {code}: {text}", retryable=code in RETRYABLE_STATUS)
        logprobs = bool(isinstance(body, dict) and any(isinstance(c, dict) and c.get("logprobs")
                                                       for c in body.get("choices") or []))
        try:
            ((text, finish, values),), prompt_tokens, completion_tokens = parse_choices(body, 1, logprobs)
        except (_Failure, ValueError, TypeError) as exc:
            return key, Outcome("error", status=200, message=str(exc), retryable=True)
        return key, Outcome("ok", text, finish, prompt_tokens, completion_tokens, token_logprobs=values)

    def cancel(self, batch_id: str) -> None:
        self.call_json("POST", f"/batches/{batch_id}/cancel", {})


_ANTHROPIC_RETRYABLE = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


class AnthropicBatches(BatchApi):
    """Anthropic's Message Batches: the requests go inline in one POST; results come from `results_url`.
    Structured output is a forced tool call whose input is the answer; Anthropic takes no seed."""

    name = "anthropic"
    options: AnthropicBatchOptions

    def headers(self) -> dict[str, str]:
        key = self._key()
        return {"anthropic-version": self.options.anthropic_version, **({"x-api-key": key} if key else {})}

    def line(self, key: str, request: LLMRequest) -> bytes:
        params = request.params
        system = "\n\n".join(str(m.get("content", "")) for m in request.messages if m.get("role") == "system")
        body: dict[str, Any] = {
            "model": self.model_id, "max_tokens": params.max_tokens, "temperature": min(params.temperature, 1.0),
            "messages": [{"role": m["role"], "content": m.get("content", "")} for m in request.messages
                         if m.get("role") != "system"]}
        if system:
            body["system"] = system
        if params.top_p < 1.0:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop_sequences"] = params.stop
        if params.json_schema is not None:
            body["tools"] = [{"name": "answer", "description": "Give the answer.", "input_schema": params.json_schema}]
            body["tool_choice"] = {"type": "tool", "name": "answer"}
        return json.dumps({"custom_id": key, "params": body}, ensure_ascii=False).encode("utf-8")

    def create(self, handle: Optional[str], lines: list[bytes]) -> str:
        data = b'{"requests": [' + b",".join(lines) + b"]}"
        batch = self.call_json("POST", "/messages/batches", data=data, retry=False)
        if not batch.get("id"):
            raise ApiError(f"the batch was not created: {str(batch)[:200]}")
        return batch["id"]

    def status(self, batch_id: str) -> Status:
        batch = self.call_json("GET", f"/messages/batches/{batch_id}")
        state = batch.get("processing_status")
        if state == "in_progress":
            return Status("in_progress")
        if state == "canceling":
            return Status("cancelling")
        if state != "ended":
            raise ApiError(f"batch {batch_id}: unknown processing_status {state!r}")
        counts = batch.get("request_counts") or {}
        ended = ("cancelled" if batch.get("cancel_initiated_at") else
                 "expired" if counts.get("expired") else "completed")
        return Status(ended, batch.get("results_url") or f"{self.base_url}/messages/batches/{batch_id}/results")

    def results(self, status: Status) -> Iterator[tuple[Optional[str], Optional[Outcome]]]:
        if not status.output:
            return
        for entry in _lines(self.call("GET", status.output)):
            yield self._read(entry)

    def _read(self, entry: Any) -> tuple[Optional[str], Optional[Outcome]]:
        if not isinstance(entry, dict) or not isinstance(entry.get("custom_id"), str):
            return None, None
        key, result = entry["custom_id"], entry.get("result")
        kind = result.get("type") if isinstance(result, dict) else None
        if kind in ("canceled", "expired"):
            return key, Outcome("unfinished", message=kind)
        if kind == "errored":
            error = (result.get("error") or {}).get("error") or result.get("error") or {}
            name = error.get("type") if isinstance(error, dict) else None
            return key, Outcome("error", message=f"{name}: {error.get('message') if isinstance(error, dict) else ''}",
                                retryable=name in _ANTHROPIC_RETRYABLE,
                                status=400 if name == "invalid_request_error" else None)
        message = result.get("message") if kind == "succeeded" else None
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            return None, None
        texts = [b.get("text") for b in message["content"] if isinstance(b, dict) and b.get("type") == "text"]
        tools = [b.get("input") for b in message["content"] if isinstance(b, dict) and b.get("type") == "tool_use"]
        text = json.dumps(tools[0]) if tools else "".join(t for t in texts if isinstance(t, str))
        usage = message.get("usage") or {}
        finish = "length" if message.get("stop_reason") == "max_tokens" else "stop"
        return key, Outcome("ok", text, finish, usage.get("input_tokens"), usage.get("output_tokens"))

    def cancel(self, batch_id: str) -> None:
        self.call_json("POST", f"/messages/batches/{batch_id}/cancel", {})


PROVIDERS = {"openai": OpenAIBatches, "anthropic": AnthropicBatches}
