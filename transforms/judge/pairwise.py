"""Pairwise judges asked in both orders, against position bias ("Judging LLM-as-a-Judge with MT-Bench and
Chatbot Arena", arXiv:2306.05685, which found judges favour the first position).

The rule: each judge compares every two responses as A/B and again as B/A; a verdict that flips with the
order is position-inconsistent and the pair it makes is low-confidence. Ties are kept as ties.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ValidationError

from prefmill.schemas import Comparison
from prefmill.transforms.judge.answers import JudgeParseError, _json_object

PAIRWISE_TEMPLATE = """You are an impartial judge. Which response better answers the user's request? Consider helpfulness,
instruction following, honesty and truthfulness; ignore length and position.

User request:
{question}

Response A:
{first}

Response B:
{second}

Reply with JSON only: {{"preferred": "A" | "B" | "tie", "rationale": "one or two sentences"}}."""

PAIRWISE_SCHEMA = {"type": "object", "properties": {"preferred": {"enum": ["A", "B", "tie"]},
                                                    "rationale": {"type": "string"}}, "required": ["preferred"]}


class _PairwiseAnswer(BaseModel):
    preferred: Literal["A", "B", "tie"]
    rationale: str = ""


def parse_pairwise(text: Optional[str]) -> tuple[str, str]:
    """(preferred "A" | "B" | "tie", rationale)."""
    try:
        answer = _PairwiseAnswer.model_validate(_json_object(text))
    except ValidationError as exc:
        raise JudgeParseError(f"invalid preference: {exc.errors()[0]['msg']}") from None
    return answer.preferred, answer.rationale


def comparisons_of(judged: list) -> list[Comparison]:
    """Both orders of each judge's verdict on each two responses -> Comparisons. A verdict that flips with
    the order is position-inconsistent: it keeps the first order's pick and is flagged (a low-confidence
    pair for routing). A pair with one unreadable order gives no comparison from that judge."""
    orders: dict[tuple, dict[str, tuple[str, str]]] = {}
    for tag, (preferred, rationale) in judged:
        orders.setdefault((tag["judge"], tuple(tag["pair"])), {})[tag["order"]] = (preferred, rationale)
    comparisons = []
    for (judge, (a, b)), answers in sorted(orders.items()):
        if set(answers) != {"ab", "ba"}:
            continue  # one order could not be read: no comparison from this judge
        ab, ba = answers["ab"][0], answers["ba"][0]
        pick_ab = {"A": a, "B": b}.get(ab)  # in order ab, A is a
        pick_ba = {"A": b, "B": a}.get(ba)  # in order ba, A is b
        consistent = pick_ab == pick_ba
        # A flipped verdict keeps the first order's pick and is flagged: the pair becomes low-confidence.
        comparisons.append(Comparison(judge=judge, first_id=a, second_id=b, preferred_id=pick_ab,
                                      position_consistent=consistent, rationale=answers["ab"][1]))
    return comparisons
