"""Batch API backends against the fake batch server (tests/batch_server.py, a real HTTP server on 127.0.0.1):
every state a batch can pass through, partial error files, unreadable result lines, splitting at the
provider's limits, a kill between submit and completion (a real SIGKILL of a real process), and the API
key kept out of everything written. Waiting is injected: no test sleeps through a poll interval."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from prefmill.transforms.llm import LLMRequest, SamplingParams
from prefmill.transforms.llm.batch_api import BATCH_FAILED, BATCH_UNFINISHED, ApiError, BatchLedger
from prefmill.transforms.llm.registry import make_handler, model_spec

from batch_server import DEFAULT_PLAN, FakeBatchServer
from support import REPO

BACKENDS = ("openai_batch", "anthropic_batch")


def handler_for(server, cache, backend="openai_batch", clock=None, **options):
    spec = model_spec({"name": "m", "backend": backend, "model": "gpt-test",
                       backend: {"base_url": server.url, "poll_interval_s": 0.01, **options}})
    handler = make_handler(spec, str(cache) if cache else None)
    handler._sleep = lambda seconds: None
    if clock is not None:
        handler._clock = clock
    return handler


def ask(handler, requests):
    return list(handler.run_inference(requests, handler.load_model()))


def requests_of(n, schema=None, start=0):
    params = SamplingParams(json_schema=schema) if schema else SamplingParams()
    return [LLMRequest(f"p{i}", "m", [{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": f"What is {i} + 1?"}], params, 0)
            for i in range(start, start + n)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_through_every_state_to_completed(backend, tmp_path):
    schema = {"type": "object", "properties": {"rating": {"type": "integer"}}, "required": ["rating"]}
    with FakeBatchServer() as server:
        answers = ask(handler_for(server, tmp_path / "cache", backend), requests_of(6) + requests_of(2, schema))
        assert server.polls == 3  # validating -> in_progress -> finalizing -> completed, one state per poll
        assert all(r.ok for r in answers), [r.error for r in answers]
        assert answers[0].text.startswith("Answer to: What is 0 + 1?")
        assert json.loads(answers[-1].text) == {"rating": 3}  # structured output (Anthropic: a forced tool call)
        assert set(server.submitted.values()) == {1}
        body = next(iter(server.batches.values()))["requests"]
        first = next(iter(body.values()))
        if backend == "anthropic_batch":  # the system turn goes where Anthropic reads it
            assert first["system"] == "Be brief." and [m["role"] for m in first["messages"]] == ["user"]
        # a rerun is answered by the cache: nothing is submitted again
        again = ask(handler_for(server, tmp_path / "cache", backend), requests_of(6))
        assert [r.text for r in again] == [r.text for r in answers[:6]] and all(r.cached for r in again)
        assert server.creates == 1
    ledger = BatchLedger(str(tmp_path / "cache" / "batches")).entries()
    assert [(e["state"], e["ended_as"]) for e in ledger] == [("collected", "completed")]


def test_a_failed_batch_dead_letters_its_requests_with_the_providers_reason(tmp_path):
    with FakeBatchServer(plan=lambda number, kind: ("validating", "failed")) as server:
        answers = ask(handler_for(server, tmp_path), requests_of(4))
    assert {r.reason for r in answers} == {BATCH_FAILED}
    assert "invalid line (line 1)" in answers[0].error
    assert set(server.submitted.values()) == {1}  # a batch that failed validation would fail again


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ending", ["expired", "cancelled"])
def test_an_expired_or_cancelled_batch_resubmits_only_what_it_did_not_run(backend, ending, tmp_path):
    plan = lambda number, kind: ("validating", "in_progress", ending) if number == 1 else \
        ("in_progress", "completed")
    with FakeBatchServer(plan=plan, ran_share=0.5) as server:
        answers = ask(handler_for(server, tmp_path, backend), requests_of(10))
    assert all(r.ok for r in answers), [r.error for r in answers]
    assert server.creates == 2
    first, second = (set(b["requests"]) for b in server.batches.values())
    assert len(first) == 10 and len(second) == 5 and second < first  # the 5 the first batch never ran
    assert sorted(server.submitted.values()) == [1] * 5 + [2] * 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_error_lines_retry_when_the_provider_failed_and_dead_letter_when_the_request_did(backend, tmp_path):
    reqs = requests_of(9)
    fates = {}

    def fate(custom_id, attempt):  # per request, by its position: 0-2 ok, 3-5 a 500 once, 6-8 a 400
        index = fates.setdefault(custom_id, len(fates))
        return "ok" if index < 3 else ("500" if attempt == 0 else "ok") if index < 6 else "400"

    with FakeBatchServer(fate=fate) as server:
        answers = ask(handler_for(server, tmp_path, backend), reqs)
    kinds = [r.reason if not r.ok else "ok" for r in answers]
    assert sorted(kinds) == ["http_400"] * 3 + ["ok"] * 6
    assert sorted(server.submitted.values()) == [1] * 6 + [2] * 3  # only the 500s again


@pytest.mark.parametrize("backend", BACKENDS)
def test_unreadable_or_missing_result_lines_are_submitted_again_then_dead_lettered(backend, tmp_path):
    fates = {}

    def fate(custom_id, attempt):
        index = fates.setdefault(custom_id, len(fates))
        return ("malformed" if attempt == 0 else "ok") if index == 0 else \
            ("missing" if attempt == 0 else "ok") if index == 1 else "malformed" if index == 2 else "ok"

    with FakeBatchServer(fate=fate) as server:
        answers = ask(handler_for(server, tmp_path, backend, max_submissions=3), requests_of(5))
    by_id = {r.request.prompt_id: r for r in answers}
    order = sorted(fates, key=fates.get)
    by_key = {r.request.key: r for r in answers}
    assert by_key[order[0]].ok and by_key[order[1]].ok  # read the second time
    assert by_key[order[2]].reason == BATCH_UNFINISHED and "3 batch submission(s)" in by_key[order[2]].error
    assert server.submitted[order[2]] == 3 and server.submitted[order[3]] == 1
    assert sum(r.ok for r in by_id.values()) == 4


def test_submissions_split_at_the_providers_request_and_byte_limits(tmp_path):
    with FakeBatchServer() as server:
        answers = ask(handler_for(server, tmp_path, max_requests_per_batch=4), requests_of(10))
        assert all(r.ok for r in answers) and server.creates == 3
        assert sorted(len(b["requests"]) for b in server.batches.values()) == [2, 4, 4]
    with FakeBatchServer() as server:
        one_line = len(handler_for(server, None).load_model().line("k" * 64, requests_of(1)[0])) + 1
        answers = ask(handler_for(server, tmp_path / "b", max_bytes_per_batch=3 * one_line + 2), requests_of(7))
        assert all(r.ok for r in answers)
        assert all(len(server.files[f"file-{i}"]) <= 3 * one_line + 2 for i in range(1, server.creates + 1))
        assert server.creates == 3
        big = requests_of(1)[0]
        big.messages = [{"role": "user", "content": "x" * 5000}]
        [too_big] = ask(handler_for(server, tmp_path / "c", max_bytes_per_batch=1000), [big])
        assert too_big.reason == BATCH_FAILED and "over max_bytes_per_batch" in too_big.error


def test_a_batch_past_max_wait_is_cancelled_and_its_unfinished_requests_dead_lettered(tmp_path):
    now = [0.0]

    def clock():  # every look at the clock is ten minutes later
        now[0] += 600
        return now[0]

    plan = lambda number, kind: ("validating",) + ("in_progress",) * 50 + ("completed",)
    with FakeBatchServer(plan=plan, ran_share=0.25) as server:
        answers = ask(handler_for(server, tmp_path, clock=clock, max_wait_s=3600), requests_of(8))
    assert sorted(r.reason or "ok" for r in answers) == ["batch_unfinished"] * 6 + ["ok"] * 2
    assert "max_wait_s" in next(r.error for r in answers if not r.ok)
    assert server.creates == 1  # given up on: not submitted again


CLIENT = textwrap.dedent("""
    import sys
    sys.path[:0] = [sys.argv[3]]
    from prefmill.transforms.llm import LLMRequest, SamplingParams
    from prefmill.transforms.llm.registry import make_handler, model_spec
    spec = model_spec({"name": "m", "backend": sys.argv[4], "model": "gpt-test",
                       sys.argv[4]: {"base_url": sys.argv[1], "poll_interval_s": 0.02, "poll_max_interval_s": 0.02}})
    handler = make_handler(spec, sys.argv[2])
    requests = [LLMRequest(f"p{i}", "m", [{"role": "user", "content": f"q{i}"}], SamplingParams(), 0)
                for i in range(int(sys.argv[5]))]
    print(sum(r.ok for r in handler.run_inference(requests, handler.load_model())), flush=True)
""")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_killed_mid_poll_resumes_polling_and_submits_nothing_twice(backend, tmp_path):
    cache = tmp_path / "cache"
    with FakeBatchServer() as server:
        server.hold.set()  # batches stay in progress until the client is dead
        client = subprocess.Popen([sys.executable, "-c", CLIENT, server.url, str(cache), str(REPO / "tests"),
                                   backend, "300"], start_new_session=True, stdout=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while server.polls < 5 and time.monotonic() < deadline and client.poll() is None:
            time.sleep(0.05)
        assert server.creates == 1 and server.polls >= 5, "the client should be polling its batch"
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()
        server.hold.clear()
        answers = ask(handler_for(server, cache, backend),
                      [LLMRequest(f"p{i}", "m", [{"role": "user", "content": f"q{i}"}], SamplingParams(), 0)
                       for i in range(300)])
    assert all(r.ok for r in answers) and len(answers) == 300
    assert server.creates == 1 and len(server.submitted) == 300 and set(server.submitted.values()) == {1}


def test_a_run_killed_between_creating_a_batch_and_writing_its_id_finds_it(tmp_path):
    cache = tmp_path / "cache"
    with FakeBatchServer() as server:
        handler = handler_for(server, cache)
        api = handler.load_model()
        reqs = requests_of(4)
        for r in reqs:  # what the base class does before it asks the backend
            from prefmill.transforms.llm.requests import request_key
            r.key = request_key("gpt-test", r.messages, r.params, 0)
        lines = [api.line(r.key, r) for r in reqs]
        handle = api.prepare(lines)
        ledger = BatchLedger(str(cache / "batches"))
        ledger.put("e1", {"id": "e1", "provider": "openai", "base_url": api.base_url, "keys": [r.key for r in reqs],
                          "handle": handle, "batch_id": None,
                          "state": "submitting", "submitted_at": time.time() - 3600, "run": "killed"})
        api.create(handle, lines)  # ... and the process died before writing the batch id down
        answers = ask(handler_for(server, cache), requests_of(4))
    assert all(r.ok for r in answers)
    assert server.creates == 1 and set(server.submitted.values()) == {1}


def test_the_api_key_goes_in_its_header_only_never_into_the_ledger_or_an_error(tmp_path, monkeypatch):
    secret = "sk-batch-secret-123456789"
    monkeypatch.setenv("PREFMILL_TEST_KEY", secret)
    with FakeBatchServer(api_key=secret, plan=lambda number, kind: ("validating", "failed")) as server:
        answers = ask(handler_for(server, tmp_path / "cache", api_key_env="PREFMILL_TEST_KEY"), requests_of(2))
        assert set(server.auth) == {f"Bearer {secret}"}
    assert all(secret not in (r.error or "") for r in answers)
    written = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert written and secret not in written
    monkeypatch.setenv("PREFMILL_TEST_KEY", "sk-wrong-key-987654321")
    with FakeBatchServer(api_key=secret) as server, pytest.raises(ApiError, match="HTTP 401") as refused:
        ask(handler_for(server, tmp_path / "other", api_key_env="PREFMILL_TEST_KEY"), requests_of(1))
    assert "sk-wrong-key" not in str(refused.value)  # a stage turns this into inference_error dead letters


def test_a_batch_backend_without_the_response_cache_is_refused_with_its_fix(make_config):
    from prefmill.pipelines.config import ConfigError

    entry = {"name": "b", "backend": "openai_batch", "model": "gpt-test"}
    with pytest.raises(ConfigError, match="set generate.cache.enabled: true"):
        make_config(generate={"mode": "models", "models": [entry], "cache": {"enabled": False}})


def test_a_create_whose_answer_is_lost_is_found_not_submitted_again(tmp_path):
    with FakeBatchServer() as server:
        real = server._create_openai
        lost = {"left": 1}

        def create_then_fail(raw):  # the batch is created, but the client hears a 502
            status, payload = real(raw)
            if lost["left"]:
                lost["left"] -= 1
                return 502, {"error": {"message": "bad gateway"}}
            return status, payload

        server._create_openai = create_then_fail
        answers = ask(handler_for(server, tmp_path), requests_of(4))
    assert all(r.ok for r in answers)
    assert server.creates == 1 and set(server.submitted.values()) == {1}


def test_a_batch_the_provider_no_longer_knows_opens_its_requests_again(tmp_path):
    cache = tmp_path / "cache"
    with FakeBatchServer() as server:
        ask(handler_for(server, cache), requests_of(2))
        ledger = BatchLedger(str(cache / "batches"))
        [entry] = ledger.entries()
        keys = entry["keys"]
        ledger.put(entry["id"], {**entry, "state": "in_progress", "batch_id": "batch_deleted"})  # a 404 now
        for key in keys:  # and the answers are gone from the cache
            (cache / key[:2] / f"{key}.json").unlink()
        answers = ask(handler_for(server, cache), requests_of(2))
        assert all(r.ok for r in answers) and server.creates == 2
        assert {e.get("ended_as") for e in ledger.entries()} == {"completed", "lost"}


def test_another_endpoints_entries_and_earlier_runs_submissions_do_not_count(tmp_path):
    cache = tmp_path / "cache"
    fates = lambda custom_id, attempt: "500" if attempt < 3 else "ok"  # a bad day: three 500s per request
    with FakeBatchServer(fate=fates) as server:
        first = ask(handler_for(server, cache, max_submissions=3), requests_of(2))
        assert {r.reason for r in first} == {"batch_unfinished"}
        again = ask(handler_for(server, cache, max_submissions=3), requests_of(2))  # a rerun starts afresh
        assert all(r.ok for r in again)
    with FakeBatchServer() as other:  # the same cache, another endpoint: the old entries are not its batches
        answers = ask(handler_for(other, cache), requests_of(2, start=5))
        assert all(r.ok for r in answers) and other.polls == 3


def test_a_batch_failed_for_a_full_token_queue_is_submitted_again(tmp_path):
    plan = lambda number, kind: ("validating", "failed") if number == 1 else DEFAULT_PLAN
    with FakeBatchServer(plan=plan) as server:
        server.failure = {"code": "token_limit_exceeded", "message": "Enqueued token limit reached"}
        answers = ask(handler_for(server, tmp_path), requests_of(3))
    assert all(r.ok for r in answers) and server.creates == 2
