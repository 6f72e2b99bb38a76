"""Turn one raw input row into a prompt with its recorded candidates, or a reason code why not.

Pure functions, no Beam: the ReadPrompts stage, the tests and the benchmarks call `parse_row` directly.
Rows come as bytes (a JSONL line) or as a dict (a Parquet or Hugging Face row). A `FieldMap` says where
each prompt field lives in the row, so common layouts read without a conversion script:

- native:              {"id", "prompt" (text or messages), "domain", "reference": {...}, "candidates": [...]}
- question_answer:     {"id", "question", "answer"}
- prompt_completions:  {"id", "prompt", "completions": ["...", {"model": ..., "text": ...}]}
- messages:            {"id", "messages": [...]}; a trailing assistant turn becomes a recorded candidate
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prefmill.schemas import Candidate, Message, Prompt, PromptCandidates, Reference, stable_id
from prefmill.transforms.verify.registry import check_domain

Layout = Literal["native", "question_answer", "prompt_completions", "messages", "ifeval"]

# Reason codes of the read stage, in the order the checks run.
INVALID_UTF8 = "invalid_utf8"
ROW_TOO_LARGE = "row_too_large"
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
INVALID_VALUE = "invalid_value"
EMPTY_PROMPT = "empty_prompt"
DUPLICATE_ID = "duplicate_id"
INVALID_UNICODE = "invalid_unicode"
TOO_DEEP = "too_deep"
NUMBER_TOO_LARGE = "number_too_large"
MAX_DEPTH = 64  # nesting a prompt row never needs; deeper JSON is refused before it can exhaust the stack
_SURROGATE = re.compile("[\ud800-\udfff]")


class RowError(Exception):
    """A row that cannot become a prompt; `reason` is the dead-letter reason code."""

    def __init__(self, reason: str, message: str, record_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.record_id = record_id


class FieldMap(BaseModel):
    """Where each prompt field is found in an input row. Dotted paths reach into nested objects;
    null means the layout has no such field."""

    model_config = ConfigDict(extra="forbid")

    id: Optional[str] = Field("id", description="row id; null derives a stable id from the prompt text")
    prompt: str = Field("prompt", description="the prompt: a string or a list of {role, content} messages")
    system: Optional[str] = Field(None, description="optional system prompt, prepended as a system message")
    domain: Optional[str] = Field("domain", description="chat or a verifier's domain (math, code, instruction)")
    answer: Optional[str] = Field("reference.answer", description="reference answer (math)")
    tests: Optional[str] = Field("reference.tests", description="unit tests (code)")
    constraints: Optional[str] = Field("reference.constraints", description="checkable constraints")
    candidates: Optional[str] = Field("candidates", description="recorded responses: strings or objects")
    source: Optional[str] = Field("source", description="where the prompt comes from")
    metadata: Optional[str] = Field("metadata", description="free-form object kept with the prompt")


LAYOUTS: dict[str, dict[str, Optional[str]]] = {
    "native": {},
    "question_answer": {"prompt": "question", "answer": "answer", "tests": None, "constraints": None},
    "prompt_completions": {"candidates": "completions"},
    "messages": {"prompt": "messages", "candidates": None},
    # IFEval's input_data.jsonl: {"key", "prompt", "instruction_id_list", "kwargs"} (read as they are)
    "ifeval": {"id": "key", "domain": None, "answer": None, "tests": None, "constraints": None, "candidates": None},
}


def field_map_for(layout: str, overrides: dict[str, Optional[str]] | None = None) -> FieldMap:
    """The field map of a layout with the user's overrides on top.

    >>> field_map_for("question_answer").prompt
    'question'
    >>> field_map_for("question_answer", {"prompt": "problem"}).prompt
    'problem'
    """
    return FieldMap(**{**LAYOUTS[layout], **(overrides or {})})


_MISSING = object()


def _get(row: dict, path: Optional[str]) -> Any:
    if path is None:
        return _MISSING
    node: Any = row
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def decode_row(raw: bytes | str | dict, max_row_bytes: int) -> dict:
    """Bytes or a dict -> a dict, checking encoding, size and JSON shape (in that order)."""
    if isinstance(raw, dict):
        size = len(json.dumps(raw, default=str).encode("utf-8", errors="replace"))
        if size > max_row_bytes:
            raise RowError(ROW_TOO_LARGE, f"row is {size} bytes, over the limit of {max_row_bytes}")
        return raw
    if isinstance(raw, bytes):
        if len(raw) > max_row_bytes:
            raise RowError(ROW_TOO_LARGE, f"row is {len(raw)} bytes, over the limit of {max_row_bytes}")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RowError(INVALID_UTF8, f"row is not valid UTF-8: {exc}") from None
    elif len(raw.encode("utf-8", errors="replace")) > max_row_bytes:
        raise RowError(ROW_TOO_LARGE, f"row is over the limit of {max_row_bytes} bytes")
    raw = raw.lstrip("\ufeff")  # a byte-order mark (some editors write one per file, some per line)
    if _nesting(raw) > MAX_DEPTH:
        raise RowError(TOO_DEEP, f"JSON nested more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RowError(MALFORMED_JSON, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise RowError(TOO_DEEP, "JSON nested too deeply to read") from None
    except ValueError as exc:  # Python's limit on integer digits (a 5,000-digit number)
        raise RowError(NUMBER_TOO_LARGE, f"a number in the row is too large: {str(exc)[:80]}") from None
    if not isinstance(value, dict):
        raise RowError(NOT_AN_OBJECT, f"a row must be a JSON object, got {type(value).__name__}")
    bad = _lone_surrogate(value)
    if bad is not None:
        raise RowError(INVALID_UNICODE, f"a lone UTF-16 surrogate (\\u{ord(bad):04x}) in a string: not text")
    return value


def _nesting(text: str) -> int:
    """The deepest bracket nesting outside strings (cheap: no recursion, one pass)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _lone_surrogate(value: Any) -> Optional[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                return found.group()
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _messages(value: Any, field: str) -> list[dict]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and all(isinstance(m, dict) for m in value):
        return value
    raise RowError(WRONG_TYPE, f"field '{field}' must be a string or a list of messages, got {type(value).__name__}")


def _candidate_dicts(value: Any, field: str, default_model: str) -> list[dict]:
    if not isinstance(value, list):
        raise RowError(WRONG_TYPE, f"field '{field}' must be a list, got {type(value).__name__}")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append({"model": default_model, "text": item})
        elif isinstance(item, dict):
            item = dict(item)
            if "text" not in item:
                for alias in ("content", "response", "completion"):
                    if alias in item:
                        item["text"] = item.pop(alias)
                        break
            item.setdefault("model", default_model)
            out.append(item)
        else:
            raise RowError(WRONG_TYPE, f"each entry of '{field}' must be a string or an object")
    return out


def _validation_reason(exc: ValidationError) -> str:
    kinds = {err["type"] for err in exc.errors()}
    if "missing" in kinds:
        return MISSING_FIELD
    if kinds & {"literal_error", "enum", "greater_than_equal", "less_than_equal"}:
        return INVALID_VALUE
    if any(k.endswith("_type") or k == "model_type" for k in kinds):
        return WRONG_TYPE
    return INVALID_VALUE


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(row)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_row(
    raw: bytes | str | dict,
    fields: FieldMap,
    *,
    default_domain: str = "chat",
    default_model: str = "recorded",
    max_row_bytes: int = 1_000_000,
) -> PromptCandidates:
    """One input row -> PromptCandidates, or RowError with a reason code.

    >>> fm = field_map_for("question_answer")
    >>> pc = parse_row(b'{"id": "q1", "question": "1+1?", "answer": "2"}', fm, default_domain="math")
    >>> (pc.prompt.id, pc.prompt.domain, pc.prompt.reference.answer)
    ('q1', 'math', '2')
    >>> parse_row(b'{"id": "q1", "question": "  "}', fm).prompt
    Traceback (most recent call last):
    ...
    prefmill.transforms.parse.RowError: prompt is empty
    """
    row = decode_row(raw, max_row_bytes)
    try:
        return _parse_object(row, fields, default_domain, default_model)
    except RowError as err:
        if err.record_id is None:
            err.record_id = _peek_id(row, fields)  # name the row in its dead letter whenever it has an id
        raise


def _peek_id(row: dict, fields: FieldMap) -> Optional[str]:
    value = _get(row, fields.id)
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value)
    return None


def ifeval_constraints_of(row: dict) -> Optional[list[dict]]:
    """IFEval-shaped instructions as they come, without conversion: `instruction_id_list` + `kwargs` (IFEval's
    own input data), or a `ground_truth` JSON object with `instruction_id` + `kwargs` (RLVR instruction data).

    >>> ifeval_constraints_of({"instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]})
    [{'kind': 'punctuation:no_comma', 'args': {}}]
    >>> ifeval_constraints_of({"ground_truth": '{"instruction_id": ["detectable_format:title"], "kwargs": [null]}'})
    [{'kind': 'detectable_format:title', 'args': {}}]
    """
    ids, kwargs = row.get("instruction_id_list"), row.get("kwargs")
    truth = row.get("ground_truth")
    if ids is None and isinstance(truth, str) and "instruction_id" in truth:
        try:
            parsed = json.loads(truth)
        except json.JSONDecodeError:
            raise RowError(WRONG_TYPE, "ground_truth is not a JSON object") from None
        if isinstance(parsed, dict):
            ids, kwargs = parsed.get("instruction_id"), parsed.get("kwargs")
    if ids is None:
        return None
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise RowError(WRONG_TYPE, "instruction_id_list must be a list of IFEval instruction ids")
    kwargs = kwargs if isinstance(kwargs, list) else [kwargs] * len(ids) if isinstance(kwargs, dict) else [{}] * len(ids)
    if len(kwargs) != len(ids) or not all(k is None or isinstance(k, dict) for k in kwargs):
        raise RowError(WRONG_TYPE, "kwargs must be a list of objects, one per instruction id")
    return [{"kind": i, "args": {k: v for k, v in (kw or {}).items() if v is not None}} for i, kw in zip(ids, kwargs)]


def _parse_object(row: dict, fields: FieldMap, default_domain: str, default_model: str) -> PromptCandidates:
    prompt_value = _get(row, fields.prompt)
    if prompt_value is _MISSING or prompt_value is None:
        raise RowError(MISSING_FIELD, f"row has no '{fields.prompt}' field (input.fields.prompt)")
    messages = _messages(prompt_value, fields.prompt)
    recorded: list[dict] = []
    if fields.candidates is None and messages and messages[-1].get("role") == "assistant":
        # messages layout: the conversation's final assistant turn is a recorded response
        recorded.append({"model": default_model, "text": messages[-1].get("content")})
        messages = messages[:-1]
    if not any(isinstance(m.get("content"), str) and m["content"].strip() for m in messages):
        raise RowError(EMPTY_PROMPT, "prompt is empty")
    system = _get(row, fields.system)
    if isinstance(system, str) and system.strip():
        messages = [{"role": "system", "content": system}] + messages

    if fields.id is None:
        prompt_id = stable_id("prompt", json.dumps(messages, sort_keys=True, ensure_ascii=False))
    else:
        prompt_id = _get(row, fields.id)
        if prompt_id is _MISSING or prompt_id is None:
            raise RowError(MISSING_FIELD, f"row has no '{fields.id}' field (set input.fields.id: null to derive ids)")
        if isinstance(prompt_id, bool) or not isinstance(prompt_id, (str, int)):
            raise RowError(WRONG_TYPE, f"field '{fields.id}' must be a string or integer id")
        prompt_id = str(prompt_id)
        if not prompt_id.strip():
            raise RowError(INVALID_VALUE, f"field '{fields.id}' is empty")

    reference: dict[str, Any] = {}
    for key, path in (("answer", fields.answer), ("tests", fields.tests), ("constraints", fields.constraints)):
        value = _get(row, path)
        if value is not _MISSING and value is not None:
            reference[key] = str(value) if key == "answer" and isinstance(value, (int, float)) else value

    domain = _get(row, fields.domain)
    if "constraints" not in reference:
        ifeval_constraints = ifeval_constraints_of(row)
        if ifeval_constraints:
            reference["constraints"] = ifeval_constraints
            if domain is _MISSING or domain is None:
                domain = "instruction"
    prompt_data = {
        "id": prompt_id,
        "messages": messages,
        "domain": default_domain if domain is _MISSING or domain is None else domain,
        "reference": reference or None,
        "source": None if _get(row, fields.source) is _MISSING else _get(row, fields.source),
        "metadata": {} if _get(row, fields.metadata) in (_MISSING, None) else _get(row, fields.metadata),
    }
    try:
        prompt = Prompt.model_validate(prompt_data)
    except ValidationError as exc:
        raise RowError(_validation_reason(exc), _describe(exc), record_id=prompt_id) from None
    try:
        check_domain(prompt.domain)
    except ValueError as exc:
        raise RowError(INVALID_VALUE, f"field '{fields.domain}': {exc}", record_id=prompt_id) from None

    cand_value = _get(row, fields.candidates)
    if cand_value is not _MISSING and cand_value is not None:
        recorded.extend(_candidate_dicts(cand_value, fields.candidates or "", default_model))
    candidates = []
    for index, item in enumerate(recorded):
        model = str(item.get("model") or default_model)
        item = {
            **item,
            "prompt_id": prompt_id,
            "model": model,
            "sample_index": item.get("sample_index", index),
        }
        item.setdefault("id", Candidate.make_id(prompt_id, model, item["sample_index"]))
        extra = {k: item.pop(k) for k in list(item) if k not in Candidate.model_fields}
        if extra:
            item["metadata"] = {**(item.get("metadata") or {}), **extra}
        try:
            candidates.append(Candidate.model_validate(item))
        except ValidationError as exc:
            raise RowError(_validation_reason(exc), "candidate " + str(index) + ": " + _describe(exc),
                           record_id=prompt_id) from None
    return PromptCandidates(prompt=prompt, candidates=candidates)
