"""Checks an edit must pass before it becomes a preference pair; each failure has its own reason code.

RISE's reference code skips these; an edit that fails one is kept as a discard record with the reason.

| reason             | the edit is discarded when                                                        |
| unparseable_edit   | no edited step could be read from the model's answer (LLM edits)                   |
| unchanged          | the edited step is the original, ignoring whitespace                               |
| reveals_error      | the edit announces itself ("incorrect", "mistake", "let's correct", "oops", ...)   |
| multi_step         | the edit spans more than one step                                                  |
| too_far            | the token edit distance exceeds `max_token_distance`                               |
| still_correct      | every equation in the edited step still holds and gives the original results: the |
|                    | "error" changed nothing a reader could catch                                       |
| answer_unchanged   | the full solution completed from the edited step still passes verify_math          |
| unverifiable_edit  | verify_math could not decide the completed solution (a symbolic-check timeout, or  |
|                    | an answer it cannot compare): not known to be wrong, so never a pair               |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from prefmill.transforms.rise.steps import equations, split_steps
from prefmill.transforms.rise.edit import token_distance
from prefmill.transforms.verify.math_answer import verify_math

GIVEAWAYS = re.compile(
    r"\b(?:incorrect(?:ly)?|mistake[sn]?|error|erroneous(?:ly)?|wrong(?:ly)?|oops|typo|let'?s correct|"
    r"correction|should (?:be|have been)|actually|intentional(?:ly)?|deliberate(?:ly)?|planted|subtle)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str = ""
    detail: str = ""


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def check_step(original: str, edited: Optional[str], *, max_token_distance: int) -> Check:
    """Every check that needs only the step itself."""
    if edited is None or not edited.strip():
        return Check(False, "unparseable_edit", "no edited step in the answer")
    if _norm(original) == _norm(edited):
        return Check(False, "unchanged", "the edited step equals the original")
    giveaway = GIVEAWAYS.search(edited)
    if giveaway and not GIVEAWAYS.search(original):
        return Check(False, "reveals_error", f"the edit says {giveaway.group()!r}")
    if len(split_steps(edited.strip()).steps) > 1 and len(split_steps(original.strip()).steps) <= 1:
        return Check(False, "multi_step", "the edit spans more than one step")
    distance = token_distance(original, edited)
    if distance > max_token_distance:
        return Check(False, "too_far", f"token distance {distance} > {max_token_distance}")
    before, after = equations(original), equations(edited)
    if after and all(e.holds for e in after) and [e.result for e in before] == [e.result for e in after]:
        return Check(False, "still_correct", "the edited equations hold and give the original results")
    return Check(True, detail=f"token distance {distance}")


def check_solution(rejected_solution: str, reference: str) -> Check:
    """The completed solution must now miss the reference answer."""
    verdict = verify_math(rejected_solution, reference)
    if verdict.passed is None:  # the check itself gave up (a symbolic timeout, an unreadable answer)
        return Check(False, "unverifiable_edit", f"the edited solution could not be checked: {verdict.reason} "
                                                 f"({verdict.rule})")
    if verdict.passed:
        return Check(False, "answer_unchanged", f"the edited solution still reaches {verdict.extracted or reference}")
    return Check(True, detail=verdict.evidence)
