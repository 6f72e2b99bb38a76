"""Rating judges, as in UltraFeedback ("UltraFeedback: Boosting Language Models with Scaled AI Feedback",
arXiv:2310.01377): a judge rates a response 1 to 5 on helpfulness, instruction following, honesty and
truthfulness, with a rationale per aspect.

The rules: `pointwise` asks about one response per request; `listwise` shows all of a prompt's responses in
one request (UltraFeedback's own annotation: the cheapest mode, and responses are rated against each other),
in candidate-id order, which is unrelated to the model. Answers are structured output, validated here.
"""

from __future__ import annotations

import json  # noqa: F401  (the doctests use it)
from functools import lru_cache
from typing import Optional

from pydantic import BaseModel, Field, ValidationError, create_model

from prefmill.schemas import AspectRating, Judgment
from prefmill.transforms.judge.answers import JudgeParseError, _json_object

ASPECTS = ["helpfulness", "instruction_following", "honesty", "truthfulness"]

RUBRIC = """You are an impartial judge of AI assistant responses. Rate the response on each aspect from 1 (poor)
to 5 (excellent): helpfulness (does it solve the user's need), instruction_following (does it do what was
asked, in the requested form), honesty (does it express uncertainty and avoid overclaiming), truthfulness
(are its statements correct, with nothing made up). Give a one-sentence rationale per aspect."""

POINTWISE_TEMPLATE = """{rubric}

User request:
{question}

Response to rate:
{response}

Reply with JSON only: {{"<aspect>": {{"rating": 1-5, "rationale": "..."}}, ...}} for the aspects {aspects}."""

LISTWISE_TEMPLATE = """{rubric}

User request:
{question}

{responses}

Reply with JSON only: {{"responses": [...]}}, one entry per response in the order shown, each
{{"<aspect>": {{"rating": 1-5, "rationale": "..."}}, ...}} for the aspects {aspects}."""

def aspect_schema(aspects: list[str]) -> dict:
    rating = {"type": "object", "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 5},
                                               "rationale": {"type": "string"}}, "required": ["rating", "rationale"]}
    return {"type": "object", "properties": {a: rating for a in aspects}, "required": list(aspects)}


def listwise_schema(aspects: list[str]) -> dict:
    return {"type": "object", "properties": {"responses": {"type": "array", "items": aspect_schema(aspects)}},
            "required": ["responses"]}


class _AspectAnswer(BaseModel):
    rating: int = Field(ge=1, le=5)
    rationale: str = ""


def parse_pointwise(text: Optional[str], aspects: list[str], judge: str) -> Judgment:
    """A judge's answer -> Judgment; JudgeParseError when any aspect is missing or out of range.

    >>> j = parse_pointwise('{"helpfulness": {"rating": 4, "rationale": "ok"}}', ["helpfulness"], "j")
    >>> (j.mean, j.ratings[0].rating)
    (4.0, 4)
    """
    return _judgment(_json_object(text), aspects, judge)


@lru_cache(maxsize=64)
def _aspect_model(aspects: tuple[str, ...]) -> type[BaseModel]:
    # built once per aspect list: creating a pydantic model per judgment cost 0.7 ms, more than the parse
    return create_model("AspectAnswers", **{a: (_AspectAnswer, ...) for a in aspects})


def _judgment(answer: dict, aspects: list[str], judge: str) -> Judgment:
    try:
        rated = _aspect_model(tuple(aspects)).model_validate(answer)
    except ValidationError as exc:
        raise JudgeParseError(f"invalid ratings: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from None
    ratings = [AspectRating(aspect=a, rating=getattr(rated, a).rating, rationale=getattr(rated, a).rationale)
               for a in aspects]
    return Judgment(judge=judge, ratings=ratings, mean=sum(r.rating for r in ratings) / len(ratings))


def parse_listwise(text: Optional[str], aspects: list[str], judge: str, count: int) -> list[Judgment]:
    """A judge's ratings of all `count` responses, in the order shown; JudgeParseError when any is missing.

    >>> one = {"helpfulness": {"rating": 2, "rationale": "thin"}}
    >>> [j.mean for j in parse_listwise(json.dumps({"responses": [one, one]}), ["helpfulness"], "j", 2)]
    [2.0, 2.0]
    """
    responses = _json_object(text).get("responses")
    if not isinstance(responses, list) or len(responses) != count:
        raise JudgeParseError(f"expected {count} rated responses, got "
                              f"{len(responses) if isinstance(responses, list) else 'none'}")
    if not all(isinstance(r, dict) for r in responses):
        raise JudgeParseError("every rated response must be a JSON object")
    return [_judgment(r, aspects, judge) for r in responses]
