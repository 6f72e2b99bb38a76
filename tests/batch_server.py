"""A real HTTP server on 127.0.0.1 that answers like OpenAI's Batch API (`/v1/files`, `/v1/batches`) and
Anthropic's Message Batches (`/v1/messages/batches`), for tests and benchmarks.

Tests script it:
- `plan(number, kind)`: the states a batch moves through, one per status poll (default validating,
  in_progress, finalizing, completed); a plan ending in `failed`, `expired` or `cancelled` ends so;
- `fate(custom_id, attempt)`: what one request gets: "ok", "500", "400", "malformed" (an unreadable result
  line), "missing" (no line at all), "unfinished" (expired or cancelled before it ran; the default for
  requests of a batch that expired or was cancelled is set by `ran_share`);
- `hold`: while set, batches stay in the state before their last one (a test kills its client meanwhile).
It records every custom_id submitted, every status poll and every upload, and answers with `answer(body)`
(an OpenAI chat body), so judges get well-formed ratings from llm_server's stand-in model.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional

try:
    from llm_server import stand_in_model, usage
except ImportError:  # run as a module from the repository root
    from tests.llm_server import stand_in_model, usage

DEFAULT_PLAN = ("validating", "in_progress", "finalizing", "completed")


class FakeBatchServer:
    def __init__(self, *, plan: Optional[Callable[[int, str], tuple]] = None,
                 fate: Optional[Callable[[str, int], str]] = None, answer: Callable[[dict], str] = stand_in_model,
                 ran_share: float = 0.5, api_key: Optional[str] = None) -> None:
        self.plan = plan or (lambda number, kind: DEFAULT_PLAN)
        self.fate = fate or (lambda custom_id, attempt: "ok")
        self.answer = answer
        self.ran_share = ran_share
        self.api_key = api_key  # when set, every call must carry it
        self.hold = threading.Event()
        # why a batch whose plan ends in failed failed (OpenAI's errors.data entry)
        self.failure = {"code": "invalid_request", "message": "the input file has an invalid line", "line": 1}
        self.lock = threading.Lock()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.submitted: Counter = Counter()  # custom_id -> times submitted in a batch
        self.polls = 0
        self.creates = 0
        self.auth: list[Optional[str]] = []
        self._server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "FakeBatchServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                owner._route(self, "GET")

            def do_POST(self):
                owner._route(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- HTTP ------------------------------------------------------------------------------------------
    def _send(self, http, status: int, payload, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        http.send_response(status)
        http.send_header("Content-Type", content_type)
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)

    def _route(self, http, method: str) -> None:
        length = int(http.headers.get("Content-Length", 0))
        raw = http.rfile.read(length) if length else b""
        key = http.headers.get("Authorization") or http.headers.get("x-api-key")
        with self.lock:
            self.auth.append(key)
        if self.api_key and key not in (self.api_key, f"Bearer {self.api_key}"):
            # as some servers and proxies do: the key that was presented, echoed in the error
            return self._send(http, 401, {"error": {"message": f"invalid api key: {key}"}})
        path = http.path.split("?", 1)[0].rstrip("/")
        routes = [
            ("POST", r"/v1/files", self._upload), ("GET", r"/v1/files/([\w-]+)/content", self._content),
            ("POST", r"/v1/batches", self._create_openai), ("GET", r"/v1/batches", self._list),
            ("GET", r"/v1/batches/([\w-]+)", self._status),
            ("POST", r"/v1/batches/([\w-]+)/cancel", self._cancel),
            ("POST", r"/v1/messages/batches", self._create_anthropic),
            ("GET", r"/v1/messages/batches/([\w-]+)", self._status),
            ("GET", r"/v1/messages/batches/([\w-]+)/results", self._results_anthropic),
            ("POST", r"/v1/messages/batches/([\w-]+)/cancel", self._cancel),
        ]
        for verb, pattern, handle in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                status, payload = handle(raw, *match.groups())
                return self._send(http, status, payload)
        self._send(http, 404, {"error": {"message": f"no route {method} {path}"}})

    # -- OpenAI ----------------------------------------------------------------------------------------
    def _upload(self, raw: bytes):
        boundary = raw.split(b"\r\n", 1)[0]
        parts = [p for p in raw.split(boundary) if b'name="file"' in p]
        if not parts:
            return 400, {"error": {"message": "no file part"}}
        content = parts[0].split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
        with self.lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = content
        return 200, {"id": file_id, "object": "file", "purpose": "batch", "bytes": len(content)}

    def _content(self, raw: bytes, file_id: str):
        if file_id not in self.files:
            return 404, {"error": {"message": "no such file"}}
        return 200, self.files[file_id]

    def _create_openai(self, raw: bytes):
        body = json.loads(raw)
        content = self.files.get(body.get("input_file_id"))
        if content is None:
            return 400, {"error": {"message": "input_file_id not found"}}
        lines = [json.loads(line) for line in content.splitlines() if line.strip()]
        requests = {line["custom_id"]: line["body"] for line in lines}
        return 200, self._new_batch("openai", requests, input_file_id=body["input_file_id"])

    def _new_batch(self, kind: str, requests: dict[str, dict], **fields) -> dict:
        with self.lock:
            self.creates += 1
            number = self.creates
            batch_id = f"{'batch' if kind == 'openai' else 'msgbatch'}_{number}"
            attempts = {}
            for custom_id in requests:
                attempts[custom_id] = self.submitted[custom_id]
                self.submitted[custom_id] += 1
            self.batches[batch_id] = {"id": batch_id, "kind": kind, "requests": requests, "attempts": attempts,
                                      "plan": list(self.plan(number, kind)), "step": 0, "cancel": False,
                                      "fields": fields, "results": None}
            return self._view(self.batches[batch_id])

    def _state(self, batch: dict) -> str:
        if batch["cancel"]:
            return "cancelled" if batch["step"] > batch["cancel"] else "cancelling"
        return batch["plan"][min(batch["step"], len(batch["plan"]) - 1)]

    def _advance(self, batch_id: str) -> Optional[dict]:
        with self.lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return None
            self.polls += 1
            last = len(batch["plan"]) - 1
            if not (self.hold.is_set() and batch["step"] + 1 >= last) or batch["cancel"]:
                batch["step"] += 1
            return batch

    def _view(self, batch: dict) -> dict:
        state = self._state(batch)
        if batch["kind"] == "anthropic":
            ended = state in ("completed", "expired", "cancelled", "failed")
            outcome = self._outcomes(batch) if ended else {}
            counts = Counter(outcome.values())
            return {"id": batch["id"], "type": "message_batch",
                    "processing_status": ("ended" if ended else
                                          "canceling" if state == "cancelling" else "in_progress"),
                    "request_counts": {"processing": 0 if ended else len(batch["requests"]),
                                       "succeeded": counts["ok"], "errored": counts["500"] + counts["400"],
                                       "canceled": counts["unfinished"] if state == "cancelled" else 0,
                                       "expired": counts["unfinished"] if state == "expired" else 0},
                    "cancel_initiated_at": "2026-11-30T00:00:00Z" if batch["cancel"] else None,
                    "results_url": f"{self.url}/messages/batches/{batch['id']}/results" if ended else None}
        view = {"id": batch["id"], "object": "batch", "endpoint": "/v1/chat/completions", "status": state,
                "input_file_id": batch["fields"].get("input_file_id"), "completion_window": "24h",
                "output_file_id": None, "error_file_id": None, "errors": None,
                "request_counts": {"total": len(batch["requests"]), "completed": 0, "failed": 0}}
        if state == "failed":
            view["errors"] = {"object": "list", "data": [self.failure]}
        elif state in ("completed", "expired", "cancelled"):
            view["output_file_id"], view["error_file_id"] = self._files_of(batch)
        return view

    def _outcomes(self, batch: dict) -> dict[str, str]:
        """custom_id -> what it got, decided once per batch when it ends."""
        if batch["results"] is None:
            state, outcomes = self._state(batch), {}
            ran = int(len(batch["requests"]) * self.ran_share)
            for i, custom_id in enumerate(batch["requests"]):
                fate = self.fate(custom_id, batch["attempts"][custom_id])
                if state in ("expired", "cancelled") and i >= ran:
                    fate = "unfinished"
                outcomes[custom_id] = fate
            batch["results"] = outcomes
        return batch["results"]

    def _files_of(self, batch: dict) -> tuple[Optional[str], Optional[str]]:
        if "files" not in batch:
            output, errors = [], []
            for custom_id, fate in self._outcomes(batch).items():
                body = batch["requests"][custom_id]
                if fate == "ok":
                    text = self.answer(body)
                    output.append(json.dumps({"id": f"req-{custom_id[:8]}", "custom_id": custom_id, "error": None,
                                              "response": {"status_code": 200, "body": self._completion(body, text)}}))
                elif fate in ("500", "400"):
                    errors.append(json.dumps({"custom_id": custom_id, "error": None, "response": {
                        "status_code": int(fate), "body": {"error": {"message": f"fake {fate}"}}}}))
                elif fate == "malformed":
                    output.append('{"custom_id": "' + custom_id + '", "response": {"status_code": 200, "bo')
                elif fate == "unfinished":
                    code = "batch_expired" if self._state(batch) == "expired" else "batch_cancelled"
                    errors.append(json.dumps({"custom_id": custom_id, "response": None,
                                              "error": {"code": code, "message": "not run"}}))
            batch["files"] = (self._store("\n".join(output)) if output else None,
                              self._store("\n".join(errors)) if errors else None)
        return batch["files"]

    def _store(self, text: str) -> str:
        file_id = f"file-out-{len(self.files) + 1}"
        self.files[file_id] = text.encode() + b"\n"
        return file_id

    @staticmethod
    def _completion(body: dict, text: str) -> dict:
        prompt = sum(len(str(m["content"]).split()) for m in body["messages"])
        return {"id": "cmpl-1", "object": "chat.completion", "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": usage(prompt, len(text.split()))}

    def _status(self, raw: bytes, batch_id: str):  # either provider: its own view of the batch
        batch = self._advance(batch_id)
        if batch is None:
            return 404, {"error": {"message": "no such batch"}}
        with self.lock:
            return 200, self._view(batch)

    def _list(self, raw: bytes):
        with self.lock:
            views = [self._view(b) for b in reversed(list(self.batches.values())) if b["kind"] == "openai"]
        return 200, {"object": "list", "data": views, "has_more": False}

    def _cancel(self, raw: bytes, batch_id: str):
        with self.lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, {"error": {"message": "no such batch"}}
            batch["cancel"] = batch["step"] + 1
            return 200, self._view(batch)

    # -- Anthropic -------------------------------------------------------------------------------------
    def _create_anthropic(self, raw: bytes):
        body = json.loads(raw)
        requests = {r["custom_id"]: r["params"] for r in body["requests"]}
        return 200, self._new_batch("anthropic", requests)

    def _results_anthropic(self, raw: bytes, batch_id: str):
        with self.lock:
            batch = self.batches.get(batch_id)
            lines = []
            for custom_id, fate in self._outcomes(batch).items():
                params = batch["requests"][custom_id]
                if fate == "ok":
                    lines.append(json.dumps({"custom_id": custom_id,
                                             "result": {"type": "succeeded", "message": self._message(params)}}))
                elif fate in ("500", "400"):
                    kind = "api_error" if fate == "500" else "invalid_request_error"
                    lines.append(json.dumps({"custom_id": custom_id, "result": {"type": "errored", "error": {
                        "type": "error", "error": {"type": kind, "message": f"fake {fate}"}}}}))
                elif fate == "malformed":
                    lines.append('{"custom_id": "' + custom_id + '", "result": {"type": "succ')
                elif fate == "unfinished":
                    lines.append(json.dumps({"custom_id": custom_id, "result": {
                        "type": "expired" if self._state(batch) == "expired" else "canceled"}}))
        return 200, ("\n".join(lines) + "\n").encode()

    def _message(self, params: dict) -> dict:
        system = [{"role": "system", "content": params["system"]}] if params.get("system") else []
        messages = system + params["messages"]
        body = {"model": params["model"], "messages": messages}
        tools = params.get("tools")
        if tools:
            body["response_format"] = {"json_schema": {"schema": tools[0]["input_schema"]}}
            content = [{"type": "tool_use", "id": "toolu_1", "name": tools[0]["name"],
                        "input": json.loads(self.answer(body))}]
        else:
            content = [{"type": "text", "text": self.answer(body)}]
        text = json.dumps(content)
        return {"id": "msg_1", "type": "message", "role": "assistant", "model": params["model"], "content": content,
                "stop_reason": "tool_use" if tools else "end_turn",
                "usage": {"input_tokens": sum(len(str(m["content"]).split()) for m in messages),
                          "output_tokens": len(text.split())}}


def main() -> None:
    """Run the server in its own process (benchmarks): prints its URL, serves until killed."""
    with FakeBatchServer() as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
