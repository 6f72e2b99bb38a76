"""Scoring on an OpenAI-compatible server (`openai.scoring: true`): the server's own tokenizer renders and
tokenizes the prompt and, apart, the scored text (`/tokenize`, at the server's root, as vLLM and SGLang
serve it), then `/v1/completions` with `echo` and `logprobs` returns the log-probability of every token of
the joined ids, generating nothing. Same tokens as the in-process backends (see scoring.py). The parsers
raise ValueError for an answer that cannot be used; the handler reports it as `malformed_response`.
"""

from __future__ import annotations

from typing import Any


def server_root(base_url: str) -> str:
    """The server's root (vLLM and SGLang serve /tokenize there, beside /v1).

    >>> server_root("http://127.0.0.1:8000/v1/")
    'http://127.0.0.1:8000'
    """
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def tokenize_chat_body(model_id: str, messages: list[dict]) -> dict:
    return {"model": model_id, "messages": messages, "add_generation_prompt": True, "add_special_tokens": False}


def tokenize_text_body(model_id: str, text: str) -> dict:
    return {"model": model_id, "prompt": text, "add_special_tokens": False}


def echo_body(model_id: str, ids: list[int]) -> dict:
    """A completion that generates nothing and returns the prompt's own token logprobs (echo)."""
    return {"model": model_id, "prompt": ids, "max_tokens": 0, "echo": True, "logprobs": 1, "temperature": 0.0}


def parse_tokens(payload: Any) -> list[int]:
    tokens = payload.get("tokens") if isinstance(payload, dict) else None
    if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
        raise ValueError("/tokenize gave no token list")
    return tokens


def parse_echo(payload: Any, start: int, end: int) -> list[float]:
    """The logprobs of prompt tokens start..end-1 from an echoed completion (the first token has none)."""
    try:
        values = payload["choices"][0]["logprobs"]["token_logprobs"][start:end]
    except (KeyError, IndexError, TypeError):
        raise ValueError("no choices[0].logprobs.token_logprobs (does the server support echo with "
                         "logprobs?)") from None
    if len(values) != end - start or not all(isinstance(v, (int, float)) for v in values):
        raise ValueError(f"{len(values)} prompt logprobs for {end - start} tokens")
    return [float(v) for v in values]
