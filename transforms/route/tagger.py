"""LLM tagger: descriptive tags of each prompt as structured output, through the shared LLM layer.

One request per prompt (not per pair), constrained by a JSON schema of the allowed values. An answer that
cannot be read falls back to the keyword heuristics for that prompt, counted as `tagger_fallback`, so a
flaky tagger never blocks routing.
"""

from __future__ import annotations

import json
from typing import Optional

import apache_beam as beam

from prefmill.schemas import PreferencePair
from prefmill.transforms.base import count
from prefmill.transforms.llm.requests import LLMRequest, LLMResponse
from prefmill.transforms.route.features import TAG_VALUES

TAGGER_PROMPT = """Describe the user request below with these tags. Answer with JSON only, one allowed value per tag:
{allowed}

User request:
{question}"""


def tag_schema() -> dict:
    return {"type": "object", "properties": {k: {"enum": v} for k, v in TAG_VALUES.items()},
            "required": list(TAG_VALUES)}


def tag_request(pair: PreferencePair, spec) -> LLMRequest:
    question = " ".join(m.content for m in pair.prompt if m.role == "user")
    allowed = "\n".join(f"- {k}: {' | '.join(v)}" for k, v in TAG_VALUES.items())
    params = spec.sampling.model_copy(update={"json_schema": tag_schema()})
    return LLMRequest(prompt_id=pair.prompt_id, model=spec.name, params=params,
                      messages=[{"role": "user", "content": TAGGER_PROMPT.format(allowed=allowed, question=question)}])


def parse_tags(text: Optional[str]) -> Optional[dict[str, str]]:
    """Tags from the tagger's answer, or None when it does not match the allowed values.

    >>> parse_tags('{"subject": "math", "expertise": "expert", "safety_concern": "no", "complexity": "single", '
    ...            '"open_ended": "no", "format_constraints": "yes"}')["expertise"]
    'expert'
    >>> parse_tags('{"subject": "astrology"}') is None
    True
    """
    try:
        value = json.loads((text or "").strip().strip("`").removeprefix("json").strip())
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or any(value.get(k) not in allowed for k, allowed in TAG_VALUES.items()):
        return None
    return {k: value[k] for k in TAG_VALUES}


def _parsed(response: LLMResponse):
    tags = parse_tags(response.text) if response.ok else None
    count("route", "tagger_ok" if tags else "tagger_fallback")
    return response.request.prompt_id, tags


class TagPrompts(beam.PTransform):
    """pairs -> {prompt_id: tags or None}, one LLM request per distinct prompt."""

    def __init__(self, spec, cache_path: Optional[str]) -> None:
        super().__init__()
        self.spec = spec
        self.cache_path = cache_path

    def expand(self, pairs):
        from prefmill.transforms.llm.inference import run_inference
        from prefmill.transforms.llm.registry import make_handler

        spec = self.spec
        return (
            pairs
            | "ByPrompt" >> beam.Map(lambda p: (p.prompt_id, p))
            | "OnePerPrompt" >> beam.combiners.Sample.FixedSizePerKey(1)
            | "TagRequest" >> beam.Map(lambda kv: tag_request(kv[1][0], spec))
            | "Tag" >> run_inference(make_handler(spec, self.cache_path, stage="route"))
            | "ParseTags" >> beam.Map(_parsed)
        )
