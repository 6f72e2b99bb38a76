"""One redaction step for everything that becomes a record: secrets never reach a dataset, a dead letter,
an error message, a log or a report.

Three kinds of secret are removed:
- values registered by the code that read them (`register_secret`, e.g. the OpenAI-compatible handler
  when it loads `api_key_env`), in this process;
- values of environment variables that hold keys by name (`*_API_KEY`, `*_TOKEN`, `*_SECRET`,
  `HF_TOKEN`, ...), so a worker process that never registered one still redacts it;
- what follows an `Authorization`, `api-key`, `x-api-key` or `Proxy-Authorization` header, and bearer
  tokens, in whatever form a server echoed them (a header line, JSON, a Python dict).
"""

from __future__ import annotations

import os
import re
import threading

MARK = "[REDACTED]"
_MIN_SECRET = 8  # shorter values would redact ordinary words
_KEY_NAMES = re.compile(r"(?:API_?KEY|TOKEN|SECRET|PASSWORD|ACCESS_KEY)$", re.IGNORECASE)
_HEADERS = re.compile(
    r"""(?<![\w-])((?:proxy-)?authorization|x-api-key|api[-_]key)(["']?\s*[:=]\s*["']?)(?:bearer\s+|basic\s+)?[^\s"',}\]]+""",
    re.IGNORECASE)
_BEARER = re.compile(r"\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret this process holds, so every later record is redacted of it."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _registered.add(value)


def _secrets() -> list[str]:
    found = set(_registered)
    for name, value in os.environ.items():
        if value and len(value) >= _MIN_SECRET and _KEY_NAMES.search(name):
            found.add(value)
    return sorted(found, key=len, reverse=True)  # longest first: a key that contains another goes whole


def redact(text: str) -> str:
    """`text` without secrets.

    >>> redact('401: {"error": "bad key", "headers": {"Authorization": "Bearer sk-abc123456789"}}')
    '401: {"error": "bad key", "headers": {"Authorization": "[REDACTED]"}}'
    >>> redact("Authorization: Bearer abcdefgh12345678\\nx-api-key: k-0987654321")
    'Authorization: [REDACTED]\\nx-api-key: [REDACTED]'
    """
    if not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, MARK)
    text = _HEADERS.sub(lambda m: f"{m.group(1)}{m.group(2)}{MARK}", text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MARK}", text)
