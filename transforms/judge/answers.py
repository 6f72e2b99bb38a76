"""What every judge mode shares: reading a JSON object out of an answer, and the retry reminder."""

from __future__ import annotations

import json
from typing import Optional

RETRY_REMINDER = "\n\nYour previous reply could not be read. Reply with the JSON object only, nothing else."


class JudgeParseError(ValueError):
    """A judge's answer does not match the expected structure."""



def _json_object(text: Optional[str]) -> dict:
    if not text:
        raise JudgeParseError("empty answer")
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise JudgeParseError("no JSON object in the answer")
    try:
        value = json.loads(body[start:end + 1])
    except json.JSONDecodeError as exc:
        raise JudgeParseError(f"invalid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise JudgeParseError("the answer is not a JSON object")
    return value
