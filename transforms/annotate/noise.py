"""Label noise from the annotators' votes, as in "Secrets of RLHF in Large Language Models Part II: Reward
Modeling" (arXiv:2401.06080): several models score each pair, and the mean and spread of their preference
margins tell a confidently mislabelled pair (mean well below zero, little spread) from a hard one.

The rule: each annotator's vote is its blind -3..3 preference for the pair's chosen response, averaged over
both orders (A/B and B/A); a pair with at least `min_votes` LLM votes whose mean margin is at most
`-flip_margin` and whose standard deviation is at most `max_spread` is a suspected flip. Votes the input
held (MultiPref's AI label) count in the mean and the agreement, not towards `min_votes`.
"""

from __future__ import annotations

import statistics
from typing import Optional

from prefmill.schemas import Annotation, Message, PreferencePair, Vote
from prefmill.transforms.annotate.config import NoiseConfig


def vote_of(annotator: str, ab: Optional[int], ba: Optional[int]) -> Optional[Vote]:
    """One annotator's vote from its answers in both orders (`ab` shows chosen first, so a negative answer
    prefers chosen; `ba` shows rejected first). None when neither order was answered.

    >>> vote_of("m", -2, 3)
    Vote(annotator='m', margin=2.5, position_consistent=True)
    >>> vote_of("m", -2, -2).position_consistent  # it preferred whatever came first
    False
    """
    margins = [m for m in (None if ab is None else -ab, ba) if m is not None]
    if not margins:
        return None
    consistent = None
    if ab is not None and ba is not None:
        consistent = (-ab > 0) == (ba > 0) and (-ab < 0) == (ba < 0)
    return Vote(annotator=annotator, margin=sum(margins) / len(margins), position_consistent=consistent)


def summarize(votes: list[Vote], base: Optional[Annotation], config: NoiseConfig) -> Annotation:
    """The pair's annotation with these votes added to those it held, and the noise verdict."""
    base = base or Annotation(rationale_source="template")
    every = list(base.votes) + votes
    margins = [v.margin for v in every]
    mean = statistics.fmean(margins) if margins else None
    spread = statistics.pstdev(margins) if len(margins) > 1 else (0.0 if margins else None)
    checked = [v.position_consistent for v in votes if v.position_consistent is not None]
    flip = (len(votes) >= config.min_votes and mean is not None and mean <= -config.flip_margin
            and spread is not None and spread <= config.max_spread)
    return base.model_copy(update={
        "votes": every, "mean_margin": mean, "margin_spread": spread,
        "label_agreement": sum(m > 0 for m in margins) / len(margins) if margins else None,
        "position_consistent": all(checked) if checked else None, "suspected_flip": flip})


def flipped(pair: PreferencePair) -> PreferencePair:
    """The pair the other way round, labelled by the annotators. What described the old label goes: its
    rationale (replaced by why it was flipped), its margin, strength and judge summary, and a self-edit's
    `error_edit` (the planted error is now in the chosen response). The id is the swapped pair's own."""
    note = pair.annotation
    rationale = (f"Relabelled: {len(note.votes)} vote(s) preferred this response (mean margin "
                 f"{-note.mean_margin:.1f} of 3) over the one the data labelled chosen.")
    votes = [v.model_copy(update={"margin": -v.margin}) for v in note.votes]
    annotation = note.model_copy(update={
        "action": "flipped", "rationale_source": "template", "strength_justification": None, "votes": votes,
        "mean_margin": -note.mean_margin, "label_agreement": sum(v.margin > 0 for v in votes) / len(votes)})
    chosen_id, rejected_id = pair.rejected_candidate_id, pair.chosen_candidate_id
    return pair.model_copy(update={
        "id": PreferencePair.make_id(pair.prompt_id, chosen_id or "", rejected_id or "", pair.pair_source),
        "chosen": [Message(role="assistant", content=pair.rejected[-1].content)],
        "rejected": [Message(role="assistant", content=pair.chosen[-1].content)],
        "chosen_model": pair.rejected_model, "rejected_model": pair.chosen_model,
        "chosen_score": pair.rejected_score, "rejected_score": pair.chosen_score,
        "chosen_candidate_id": chosen_id, "rejected_candidate_id": rejected_id,
        "margin": None, "strength": None, "judge": None, "error_edit": None, "label_source": "ai",
        "rationale": rationale, "annotation": annotation})
