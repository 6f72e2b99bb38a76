"""A real HTTP server on 127.0.0.1 that answers like vLLM's OpenAI-compatible chat endpoint.

Tests script it: a `behave(index, body, attempt)` function picks what each request gets ("ok", "429",
"500", "timeout", "malformed", "drop", "slow"), `latency_s` delays every answer, and `answer(body)` makes
the text (deterministic by default: it depends only on the request). It records every request, the
concurrency it saw and the authorization headers, and stops by itself when the test ends.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Optional


def default_answer(body: dict) -> str:
    last = body["messages"][-1]["content"]
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    return f"Answer to: {last[:60]} [{digest}]"


def _rating(text: str) -> int:
    """A judge's 1-5 rating of a response: a fixed function of its text, the same for any framework."""
    return int(hashlib.sha256(text.strip().encode()).hexdigest(), 16) % 5 + 1


def preference_answer(body: dict) -> str:
    """Answers for a generate-then-judge job: prefmill's listwise JSON judge, distilabel's UltraFeedback
    text judge, or a generation (text that differs by sample)."""
    content = body["messages"][-1]["content"]
    if "Reply with JSON only: {\"responses\"" in content:  # prefmill, judge.mode listwise
        shown = content.split("\n\nReply with JSON only", 1)[0].split("\n\nResponse ")[1:]
        aspects = content.rsplit("for the aspects ", 1)[1].rstrip(".").split(", ")
        rated = [{a: {"rating": _rating(part.split(":\n", 1)[1]), "rationale": "fixed"} for a in aspects}
                 for part in shown]
        return json.dumps({"responses": rated})
    if "# General Text Quality Assessment" in content:  # distilabel UltraFeedback, aspect overall-rating
        annotation = content.rsplit("## Annotation", 1)[1].split("### Output", 1)[0]
        texts = [chunk.split("> ", 1)[1] for chunk in annotation.split("\n<text ")[1:]]
        return "\n\n".join(f"#### Output for Text {i}\nRating: {_rating(t)}\nRationale: fixed"
                             for i, t in enumerate(texts, 1))
    return default_answer(body)


_RECORDED: Optional[dict[str, list[str]]] = None


def _recorded_answers() -> dict[str, list[str]]:
    """The sample data's recorded responses by prompt text (loaded once)."""
    global _RECORDED
    if _RECORDED is None:
        sample = Path(__file__).resolve().parents[1] / "sample_data" / "prompts.jsonl"
        rows = [json.loads(line) for line in sample.read_text().splitlines() if line.strip()]
        _RECORDED = {r["prompt"]: [c["text"] for c in r["candidates"]] for r in rows if isinstance(r["prompt"], str)}
    return _RECORDED


def _from_schema(schema: dict) -> object:
    """The first allowed value of every field a JSON schema requires: a well-formed structured answer."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _from_schema(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [_from_schema(schema.get("items", {}))]
    return {"integer": 3, "number": 3, "boolean": False}.get(kind, "fixed")


def _bump_last_number(step: str) -> str:
    numbers = list(re.finditer(r"\d+", step))
    if not numbers:
        return step + " (changed)"
    last = numbers[-1]
    return step[: last.start()] + str(int(last.group()) + 1) + step[last.end():]


def stand_in_model(body: dict) -> str:
    """A plausible model for every request prefmill's recipes send, so a recipe runs end to end with only its
    endpoints changed: judges rate by a fixed function of the text (pointwise, pairwise, listwise),
    structured answers follow the request's schema, a self-edit changes the step's last number, and a
    generation for a sample prompt answers with one of the sample's recorded responses (picked by model
    and seed),
    so verifiers see both right and wrong answers."""
    content = body["messages"][-1]["content"]
    if "Response to rate:\n" in content:  # pointwise judge
        response = content.split("Response to rate:\n", 1)[1].split("\n\nReply with JSON only", 1)[0]
        aspects = content.rsplit("for the aspects ", 1)[1].rstrip(".").split(", ")
        return json.dumps({a: {"rating": _rating(response), "rationale": f"{a}: fixed"} for a in aspects})
    if 'Reply with JSON only: {"preferred"' in content:  # pairwise judge
        first = content.split("Response A:\n", 1)[1].split("\n\nResponse B:\n", 1)[0]
        second = content.split("\n\nResponse B:\n", 1)[1].split("\n\nReply with JSON only", 1)[0]
        a, b = _rating(first), _rating(second)
        return json.dumps({"preferred": "tie" if a == b else ("A" if a > b else "B"), "rationale": "fixed"})
    if "Response A:\n" in content and 'Answer with JSON only: {"preference"' in content:  # blind annotation
        first = content.split("Response A:\n", 1)[1].split("\n\nResponse B:\n", 1)[0]
        second = content.split("\n\nResponse B:\n", 1)[1].split("\n\nWhich response", 1)[0]
        return json.dumps({"preference": max(-3, min(3, _rating(second) - _rating(first))), "reason": "fixed"})
    if "Reply with JSON only: {\"responses\"" in content:
        return preference_answer(body)
    if "Step to edit:\n" in content:  # RISE self-edit
        step = content.split("Step to edit:\n", 1)[1].split("\n\nEdit instruction:", 1)[0]
        return f"<edited_step>{_bump_last_number(step)}</edited_step>"
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
    if schema:
        return json.dumps(_from_schema(schema))
    for prompt, answers in _recorded_answers().items():
        if prompt in content:
            pick = int(body.get("seed") or 0) + int(hashlib.sha256(body["model"].encode()).hexdigest()[:8], 16)
            return answers[pick % len(answers)]
    return default_answer(body)


def usage(prompt: int, completion: int) -> dict:
    """Token counts as OpenAI-compatible servers report them (some clients need all three)."""
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def body_key(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class FakeLLMServer:
    def __init__(self, *, latency_s: float = 0.0, behave: Optional[Callable[[int, dict, int], str]] = None,
                 answer: Callable[[dict], str] = default_answer, retry_after: str = "0.2",
                 hang_s: float = 5.0, scorer=None) -> None:
        self.latency_s = latency_s
        self.behave = behave or (lambda index, body, attempt: "ok")
        self.answer = answer
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.scorer = scorer  # tiny_model.TinyScorer: serve /tokenize and echoed /v1/completions, as vLLM does
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every request: index, key, time, behaviour, auth header
        self.attempts: dict[str, int] = {}
        self.served_ok: list[str] = []  # body keys answered 200
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "FakeLLMServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                owner._handle(self)

            def do_GET(self):  # /stats: what the server saw, for a benchmark running it in another process
                with owner.lock:
                    stats = {"times": [r["time"] for r in owner.requests], "max_in_flight": owner.max_in_flight}
                owner._send(self, 200, json.dumps(stats).encode())

        class Server(ThreadingHTTPServer):
            request_queue_size = 512  # the default backlog of 5 resets bursts of concurrent connections

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length", 0))
        body = json.loads(http.rfile.read(length))
        key = body_key(body)
        with self.lock:
            index = len(self.requests)
            attempt = self.attempts.get(key, 0)
            self.attempts[key] = attempt + 1
            behaviour = self.behave(index, body, attempt)
            self.requests.append({"index": index, "key": key, "time": time.monotonic(), "behaviour": behaviour,
                                  "auth": http.headers.get("Authorization"), "body": body})
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        http.counted = True  # in flight until its reply starts: a client may send its next request as soon as
        try:                 # it has read the reply, before this thread would get past the write
            time.sleep(self.latency_s)
            self._reply(http, body, key, behaviour)
        finally:
            self._done(http)

    def _done(self, http) -> None:
        with self.lock:
            if getattr(http, "counted", False):
                http.counted = False
                self.in_flight -= 1

    def _send(self, http, status: int, payload: bytes, headers: Optional[dict] = None) -> None:
        self._done(http)
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            http.send_header(name, value)
        http.end_headers()
        http.wfile.write(payload)

    def _reply(self, http, body: dict, key: str, behaviour: str) -> None:
        path = http.path.rstrip("/")
        if behaviour == "ok" and path in ("/tokenize", "/v1/completions"):
            return self._score(http, path, body, key)
        if behaviour == "ok" and not body.get("messages"):  # e.g. a client's probe with no messages
            return self._send(http, 400, b'{"error": "messages must not be empty"}')
        if behaviour == "429":
            self._send(http, 429, b'{"error": "rate limited"}', {"Retry-After": self.retry_after})
        elif behaviour == "500":
            self._send(http, 500, b'{"error": "internal"}')
        elif behaviour == "400":
            self._send(http, 400, b'{"error": "bad request"}')
        elif behaviour in ("401-echo", "500-echo"):
            # Some servers and proxies echo the request headers in their error bodies.
            echoed = {"error": "rejected", "request_headers": dict(http.headers.items())}
            self._send(http, int(behaviour[:3]), json.dumps(echoed).encode())
        elif behaviour == "timeout":
            time.sleep(self.hang_s)
            self._send(http, 500, b'{"error": "too late"}')
        elif behaviour == "malformed":
            self._send(http, 200, b'{"choices": [ this is not json')
        elif behaviour == "drop":
            http.close_connection = True
            http.connection.shutdown(2)
        else:
            # n > 1: choice i is what a single request with seed + i would get, like a seeded vLLM
            n, seed = int(body.get("n") or 1), body.get("seed")
            if seed is None:  # unseeded: a sampling server answers the same request differently each time
                with self.lock:
                    draws = self.served_ok.count(key)
                texts = [self.answer(body if draws == 0 and n == 1 else {**body, "n": 1, "draw": draws * n + i})
                         for i in range(n)]
            else:
                texts = [self.answer(body if n == 1 else {**body, "n": 1, "seed": seed + i}) for i in range(n)]
            payload = {
                "id": "cmpl-" + key[:12], "object": "chat.completion", "model": body["model"],
                "choices": [{"index": i, "message": {"role": "assistant", "content": text},
                             "finish_reason": "length" if text.endswith("...") else "stop",
                             **({"logprobs": {"content": [{"token": w, "logprob": -0.5} for w in text.split()]}}
                                if body.get("logprobs") else {})}
                            for i, text in enumerate(texts)],
                "usage": usage(sum(len(m["content"].split()) for m in body["messages"]),
                               sum(len(text.split()) for text in texts)),
            }
            self._send(http, 200, json.dumps(payload).encode())
            with self.lock:
                self.served_ok.append(key)


    def _score(self, http, path: str, body: dict, key: str) -> None:
        if self.scorer is None:  # like OpenAI's own API: no such endpoint
            return self._send(http, 404, b'{"error": "not found"}')
        if path == "/tokenize":
            ids = self.scorer.tokenize(body)
            payload = {"count": len(ids), "tokens": ids}
        else:
            if not (body.get("echo") and body.get("max_tokens") == 0 and isinstance(body.get("prompt"), list)):
                return self._send(http, 400, b'{"error": "this server echoes token-id prompts only"}')
            ids = body["prompt"]
            payload = {"object": "text_completion", "model": body["model"],
                       "choices": [{"index": 0, "text": "", "finish_reason": "length",
                                    "logprobs": {"token_logprobs": self.scorer.prompt_logprobs(ids)}}],
                       "usage": {"prompt_tokens": len(ids), "completion_tokens": 0}}
        self._send(http, 200, json.dumps(payload).encode())
        with self.lock:
            self.served_ok.append(key)


def main() -> None:
    """Run the server in its own process (benchmarks): prints its URL, serves until killed."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--answers", choices=["echo", "preference", "stand-in"], default="echo")
    args = parser.parse_args()
    answer = {"preference": preference_answer, "stand-in": stand_in_model}.get(args.answers, default_answer)
    with FakeLLMServer(latency_s=args.latency, answer=answer) as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
