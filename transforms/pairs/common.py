"""What every pair strategy shares: the pair record, text normalisation, strength scales, length ratio."""

from __future__ import annotations

import re

from prefmill.schemas import Annotation, Candidate, Message, PreferencePair, PromptCandidates


def normalize_text(text: str) -> str:
    """Whitespace-insensitive form used to drop pairs whose two sides say the same thing. Case is kept:
    it can be the whole difference (an all-lowercase instruction).

    >>> normalize_text("  The answer\\n is 4. ") == normalize_text("The answer is 4.")
    True
    >>> normalize_text("the answer") == normalize_text("The answer")
    False
    """
    return re.sub(r"\s+", " ", text).strip()


def strength_from_margin(margin: float) -> int:
    """Strength (HelpSteer2-Preference scale, chosen side positive) of a verifier margin in [0, 1].

    >>> [strength_from_margin(m) for m in (1.0, 0.5, 0.2)]
    [3, 2, 1]
    """
    return 3 if margin >= 0.75 else 2 if margin >= 0.4 else 1


def make_pair(pc: PromptCandidates, chosen: Candidate, rejected: Candidate, *, source: str, run_id: str,
              config_hash: str, rationale: str | None) -> PreferencePair:
    chosen_score = chosen.verdict.score if chosen.verdict else None
    rejected_score = rejected.verdict.score if rejected.verdict else None
    margin = None if chosen_score is None or rejected_score is None else chosen_score - rejected_score
    return PreferencePair(
        id=PreferencePair.make_id(pc.prompt.id, chosen.id, rejected.id, source),
        prompt_id=pc.prompt.id,
        domain=pc.prompt.domain,
        prompt=pc.prompt.messages,
        chosen=[Message(role="assistant", content=chosen.text)],
        rejected=[Message(role="assistant", content=rejected.text)],
        chosen_model=chosen.model,
        rejected_model=rejected.model,
        chosen_score=chosen_score,
        rejected_score=rejected_score,
        pair_source=source,
        margin=margin,
        strength=None if margin is None else strength_from_margin(margin),
        rationale=rationale,
        annotation=Annotation(rationale_source="template") if rationale else None,  # the no-model default
        label_source="verifier",
        chosen_candidate_id=chosen.id,
        rejected_candidate_id=rejected.id,
        run_id=run_id,
        config_hash=config_hash,
    )


def length_ratio(pair: PreferencePair) -> float:
    a, b = len(pair.chosen[-1].content), len(pair.rejected[-1].content)
    return max(a, b) / max(1, min(a, b))
