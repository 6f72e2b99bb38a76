"""Preference data in: rows of existing preference datasets -> a prompt, its responses, and the labels the
data already holds, without a conversion script. Each layout is a field map (dotted paths, overridable
in `input.fields`), turned into a native row and parsed like any input (`parse.py`), so bad rows get the
same dead letters:

- trl:                   {"prompt", "chosen", "rejected"}: TRL's standard (strings) or conversational
                         (message lists) preference format; with no prompt field, the prompt is the turns
                         chosen and rejected share (TRL's implicit prompt);
- ultrafeedback:         {"instruction", "completions": [{"model", "response", "annotations": {aspect:
                         {"Rating", "Rationale"}}}]}: responses with their per-aspect ratings, kept as
                         judgments (the `judged` strategy pairs them);
- helpsteer2_preference: {"prompt", "response_1", "response_2", "preference_strength" (-3..3, negative:
                         response 1 is better), "preference_elaboration"};
- multipref:             {"prompt_id", "text", "completion_a", "completion_b", "model_a", "model_b",
                         "normal_worker_annotations": [{"overall_pref": "A-is-clearly-better", ...}]}, and
                         an AI label where the data has one (`input.fields.ai_label`);
- helpsteer2:            one response per row, {"prompt", "response", "helpfulness", "correctness",
                         "coherence", "complexity", "verbosity"} (0-4 each): the rows of one prompt are
                         merged by the read stage (`GroupResponses`), the first three attributes kept as a
                         judgment on the 1-5 scale (each +1), complexity and verbosity in the metadata.

A label becomes an `IncomingLabel` with its source (`human`, `ai`, or `unknown` when the data does not say,
`input.label_source`); the `incoming` pair strategy turns the primary one into the pair. Ratings the data
holds (ultrafeedback, helpsteer2) become judgments by `incoming-<source>`, which the `judged` strategy pairs
with that source as the label's. A tie holds no
preference: the prompt goes on with none (the strategy says `incoming_tie`).
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal, Optional, get_args

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import IncomingLabel, PromptCandidates, stable_id
from prefmill.transforms.parse import (
    INVALID_VALUE, MISSING_FIELD, WRONG_TYPE, RowError, _get, _MISSING, _parse_object, decode_row, field_map_for,
)

PreferenceLayout = Literal["trl", "ultrafeedback", "helpsteer2_preference", "multipref", "helpsteer2"]
GROUPED_LAYOUTS = ("helpsteer2",)  # one response per row: rows are merged by prompt
PREFERENCE_LAYOUTS = get_args(PreferenceLayout)


class PreferenceFields(BaseModel):
    """Where each part of a preference row is found (dotted paths; null: the layout has no such field)."""

    model_config = ConfigDict(extra="forbid")

    id: Optional[str] = Field("id", description="row id; null derives a stable id from the prompt")
    prompt: Optional[str] = Field("prompt", description="text or messages; trl: null or absent = implicit prompt")
    system: Optional[str] = Field(None, description="optional system prompt")
    domain: Optional[str] = Field("domain", description="chat or a verifier's domain")
    chosen: Optional[str] = Field(None, description="trl: the preferred response (text or messages)")
    rejected: Optional[str] = Field(None, description="trl: the other response")
    response_a: Optional[str] = Field(None, description="pairwise layouts: the first response")
    response_b: Optional[str] = Field(None, description="pairwise layouts: the second response")
    model_a: Optional[str] = Field(None, description="the first response's model")
    model_b: Optional[str] = Field(None, description="the second response's model")
    strength: Optional[str] = Field(None, description="-3..3, negative: the first response is better")
    rationale: Optional[str] = Field(None, description="the label's written justification")
    human_label: Optional[str] = Field(None, description="a human preference: A/B/tie, MultiPref's overall_pref "
                                                         "values, or a list of annotations holding them")
    ai_label: Optional[str] = Field(None, description="an AI preference, in the same forms")
    completions: Optional[str] = Field(None, description="ultrafeedback: the rated responses")
    response: Optional[str] = Field(None, description="helpsteer2: the row's one response")
    ratings: Optional[str] = Field(None, description="helpsteer2: comma-separated 0-4 attributes rated (kept +1 "
                                                     "as a 1-5 judgment)")
    described: Optional[str] = Field(None, description="helpsteer2: comma-separated attributes kept in metadata")
    source: Optional[str] = Field("source", description="where the prompt comes from")
    metadata: Optional[str] = Field("metadata", description="free-form object kept with the prompt")


DEFAULTS: dict[str, dict[str, Optional[str]]] = {
    "trl": {"chosen": "chosen", "rejected": "rejected"},
    "ultrafeedback": {"id": None, "prompt": "instruction", "completions": "completions"},
    "helpsteer2_preference": {"id": None, "response_a": "response_1", "response_b": "response_2",
                              "strength": "preference_strength", "rationale": "preference_elaboration"},
    "helpsteer2": {"id": None, "response": "response", "ratings": "helpfulness,correctness,coherence",
                   "described": "complexity,verbosity"},
    "multipref": {"id": "prompt_id", "prompt": "text", "response_a": "completion_a", "response_b": "completion_b",
                  "model_a": "model_a", "model_b": "model_b", "human_label": "normal_worker_annotations"},
}

# MultiPref's overall_pref values and the short forms: (preferred side, strength 1-3)
_PREFERENCE_WORDS = {
    "a-is-clearly-better": ("a", 2), "a-is-slightly-better": ("a", 1), "tie": (None, 0),
    "b-is-slightly-better": ("b", 1), "b-is-clearly-better": ("b", 2), "a": ("a", None), "b": ("b", None),
}


def preference_fields_for(layout: str, overrides: dict[str, Optional[str]] | None = None) -> PreferenceFields:
    """The field map of a preference layout with the user's overrides on top.

    >>> preference_fields_for("helpsteer2_preference").response_a
    'response_1'
    """
    return PreferenceFields(**{**DEFAULTS[layout], **(overrides or {})})


def _text(value: Any, field: str) -> str:
    """A response: a string, or a conversation whose last turn is the assistant's answer."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        last = value[-1]
        if last.get("role") != "assistant" or not isinstance(last.get("content"), str):
            raise RowError(INVALID_VALUE, f"field '{field}' must end with an assistant turn")
        return last["content"]
    raise RowError(WRONG_TYPE, f"field '{field}' must be text or a list of messages, got {type(value).__name__}")


def _implicit_prompt(chosen: Any, rejected: Any) -> list[dict]:
    """TRL's implicit prompt: the turns two conversations share, before their different last answers."""
    if not (isinstance(chosen, list) and isinstance(rejected, list)):
        raise RowError(MISSING_FIELD, "row has no prompt, and chosen/rejected are not conversations to take it "
                                      "from: set input.fields.prompt")
    shared = 0
    while shared < min(len(chosen), len(rejected)) - 1 and chosen[shared] == rejected[shared]:
        shared += 1
    if shared == 0 or shared != len(chosen) - 1 or shared != len(rejected) - 1:
        raise RowError(INVALID_VALUE, "chosen and rejected share no prompt turns before their last answers")
    return chosen[:shared]


def _preference(value: Any, field: str) -> Optional[tuple[Optional[str], Optional[int]]]:
    """(preferred side 'a'/'b' or None for a tie, strength 1-3 or None) from one label or a list of them
    (MultiPref's worker annotations: the majority side, its mean strength); None when the field is absent."""
    if value is _MISSING or value is None or value == []:
        return None
    items = value if isinstance(value, list) else [value]
    votes = []
    for item in items:
        word = item.get("overall_pref") if isinstance(item, dict) else item
        found = _PREFERENCE_WORDS.get(str(word).strip().lower()) if isinstance(word, str) else None
        if found is None:
            raise RowError(INVALID_VALUE, f"field '{field}': {word!r} is not a preference (A, B, tie, or "
                                          "MultiPref's A-is-clearly-better ... B-is-clearly-better)")
        votes.append(found)
    a = [s for side, s in votes if side == "a"]
    b = [s for side, s in votes if side == "b"]
    if len(a) == len(b):
        return None, None
    winner, strengths = ("a", a) if len(a) > len(b) else ("b", b)
    known = [s for s in strengths if s is not None]
    return winner, (round(sum(known) / len(known)) if known else None)


def _strength(value: Any, field: str) -> tuple[Optional[str], Optional[int]]:
    """HelpSteer2-Preference's -3..3 (negative: the first response is better) -> (side, 1-3); 0 is a tie."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RowError(WRONG_TYPE, f"field '{field}' must be a number from -3 to 3")
    try:
        number = float(value)
    except ValueError:
        raise RowError(WRONG_TYPE, f"field '{field}' must be a number from -3 to 3, got {value!r}") from None
    if not math.isfinite(number) or not -3 <= number <= 3 or number != int(number):
        raise RowError(INVALID_VALUE, f"field '{field}' must be an integer from -3 to 3, got {value!r}")
    number = int(number)
    return (None, None) if number == 0 else ("a" if number < 0 else "b", abs(number))


def _ultrafeedback_judgments(completion: dict, annotator: str) -> list[dict]:
    ratings = []
    for aspect, note in sorted((completion.get("annotations") or {}).items()):
        if not isinstance(note, dict):
            continue
        rating = note.get("Rating", note.get("rating"))
        try:
            rating = int(str(rating).strip())
        except ValueError:
            continue  # "N/A": the aspect was not rated
        if 1 <= rating <= 5:
            ratings.append({"aspect": aspect, "rating": rating,
                            "rationale": str(note.get("Rationale", note.get("rationale")) or "")})
    if not ratings:
        return []
    return [{"judge": annotator, "ratings": ratings, "mean": sum(r["rating"] for r in ratings) / len(ratings)}]


def _rated_response(row: dict, fields: PreferenceFields, default_model: str, label_source: str) -> dict:
    """A HelpSteer2 row's response with its attribute scores (0-4 -> a 1-5 judgment); its sample index is a
    hash of its text, so the rows of one prompt give distinct, stable candidate ids in any order."""
    text = _get(row, fields.response)
    if text is _MISSING or text is None:
        raise RowError(MISSING_FIELD, f"row has no '{fields.response}' field")
    text = _text(text, fields.response or "")
    ratings, metadata = [], {}
    for name in [n.strip() for n in (fields.ratings or "").split(",") if n.strip()]:
        value = _get(row, name)
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or value != int(value) or not 0 <= value <= 4):
            raise RowError(INVALID_VALUE if isinstance(value, (int, float)) else WRONG_TYPE,
                           f"field '{name}' must be an integer score from 0 to 4, got {value!r}")
        ratings.append({"aspect": name, "rating": int(value) + 1, "rationale": ""})
    for name in [n.strip() for n in (fields.described or "").split(",") if n.strip()]:
        if _get(row, name) is not _MISSING:
            metadata[name] = _get(row, name)
    judgments = [{"judge": f"incoming-{label_source}", "ratings": ratings,
                  "mean": sum(r["rating"] for r in ratings) / len(ratings)}] if ratings else []
    index = int(stable_id("response", text)[:8], 16)
    return {"model": default_model, "sample_index": index, "text": text, "judgments": judgments, "metadata": metadata}


def merge_responses(parts: list[PromptCandidates]) -> tuple[PromptCandidates, list[PromptCandidates]]:
    """The rows of one prompt (one response each) as one prompt, and the rows whose response repeats one
    already there (duplicates). Deterministic whatever order the rows arrive in."""
    parts = sorted(parts, key=lambda pc: pc.candidates[0].id)
    kept, repeated, seen = [], [], set()
    for part in parts:
        candidate = part.candidates[0]
        if candidate.id in seen:
            repeated.append(part)
            continue
        seen.add(candidate.id)
        kept.append(candidate)
    return parts[0].model_copy(update={"candidates": kept}), repeated


def parse_preference_row(raw: bytes | str | dict, layout: str, fields: PreferenceFields, *,
                         label_source: str = "unknown", default_domain: str = "chat",
                         default_model: str = "recorded", max_row_bytes: int = 1_000_000) -> PromptCandidates:
    """One preference row -> PromptCandidates with its incoming labels, or RowError with a reason code.

    >>> row = {"prompt": "2+2?", "chosen": "4", "rejected": "5"}
    >>> pc = parse_preference_row(row, "trl", preference_fields_for("trl", {"id": None}), label_source="human")
    >>> [c.text for c in pc.candidates], pc.incoming[0].source, pc.incoming[0].chosen_id == pc.candidates[0].id
    (['4', '5'], 'human', True)
    """
    row = decode_row(raw, max_row_bytes)
    native = {key: _get(row, getattr(fields, key)) for key in ("system", "domain", "source", "metadata")}
    native = {k: v for k, v in native.items() if v is not _MISSING and v is not None}
    row_id = _get(row, fields.id) if fields.id is not None else _MISSING
    if row_id is not _MISSING and row_id is not None:  # preference data often has no id column: derived below
        native["id"] = row_id
    prompt = _get(row, fields.prompt) if fields.prompt else _MISSING
    labels: list[tuple[str, Optional[str], Optional[int], Optional[str]]] = []  # (source, side, strength, note)
    if layout == "helpsteer2":
        native["candidates"] = [_rated_response(row, fields, default_model, label_source)]
    elif layout == "ultrafeedback":
        completions = _get(row, fields.completions)
        if not isinstance(completions, list) or not all(isinstance(c, dict) for c in completions):
            raise RowError(WRONG_TYPE if completions is not _MISSING else MISSING_FIELD,
                           f"field '{fields.completions}' must be a list of rated completions")
        native["candidates"] = [{"model": str(c.get("model") or default_model), "sample_index": i,
                                 "text": c.get("response", c.get("text")),
                                 "judgments": _ultrafeedback_judgments(c, f"incoming-{label_source}")}
                                for i, c in enumerate(completions)]
    else:
        if layout == "trl":
            first, second = _get(row, fields.chosen), _get(row, fields.rejected)
            names = (fields.chosen, fields.rejected)
            labels.append((label_source, "a", None, None))
        else:
            first, second = _get(row, fields.response_a), _get(row, fields.response_b)
            names = (fields.response_a, fields.response_b)
        for value, name in zip((first, second), names):
            if value is _MISSING or value is None:
                raise RowError(MISSING_FIELD, f"row has no '{name}' field")
        if prompt is _MISSING or prompt is None:
            prompt = _implicit_prompt(first, second)
        if "id" not in native:  # one prompt may have several pairs: the id is the whole pair's
            native["id"] = stable_id("pair", json.dumps([prompt, first, second], sort_keys=True, default=str))
        note = _get(row, fields.rationale) if fields.rationale else _MISSING
        note = note if isinstance(note, str) and note.strip() else None
        if layout == "helpsteer2_preference":
            strength = _get(row, fields.strength)
            if strength is _MISSING or strength is None:
                raise RowError(MISSING_FIELD, f"row has no '{fields.strength}' field")
            labels.append((label_source, *_strength(strength, fields.strength), note))
        for source, path in (("human", fields.human_label), ("ai", fields.ai_label)):
            found = _preference(_get(row, path), path or "") if path else None
            if found is not None:
                labels.append((source, *found, note if source == "human" else None))
        if layout == "multipref" and not labels:
            raise RowError(MISSING_FIELD, f"row has no preference label ('{fields.human_label}' or "
                                          f"'{fields.ai_label}')")
        models = [_get(row, fields.model_a) if fields.model_a else _MISSING,
                  _get(row, fields.model_b) if fields.model_b else _MISSING]
        native["candidates"] = [
            {"model": str(m) if isinstance(m, str) and m else default_model, "sample_index": i, "text": _text(v, n)}
            for i, (v, n, m) in enumerate(zip((first, second), names, models))]
    if prompt is _MISSING or prompt is None:
        raise RowError(MISSING_FIELD, f"row has no '{fields.prompt}' field (input.fields.prompt)")
    native["prompt"] = prompt
    overrides = {"id": "id" if "id" in native else None}  # None: derived from the prompt (rows merge by it)
    pc = _parse_object(native, field_map_for("native", overrides), default_domain, default_model)
    if len({c.id for c in pc.candidates}) < len(pc.candidates):
        raise RowError(INVALID_VALUE, "two responses have the same model and position; name their models",
                       record_id=pc.prompt.id)
    labels.sort(key=lambda label: ("human", "ai", "unknown").index(label[0]))  # the primary label first
    incoming = []
    for source, side, strength, note in labels:
        if side is not None:  # a tie prefers neither response: it is no IncomingLabel
            a, b = pc.candidates[0], pc.candidates[1]
            chosen, rejected = (a, b) if side == "a" else (b, a)
            incoming.append(IncomingLabel(chosen_id=chosen.id, rejected_id=rejected.id, source=source,
                                          strength=strength, rationale=note))
    if labels and labels[0][1] is None:  # the primary label is a tie: no pair, whatever a lesser label says
        metadata = {**pc.prompt.metadata, "incoming_tie": labels[0][0]}
        pc = pc.model_copy(update={"prompt": pc.prompt.model_copy(update={"metadata": metadata})})
    return pc.model_copy(update={"incoming": incoming})

