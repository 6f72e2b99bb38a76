"""Judged pairs: LLM judges' ratings turned into pairs, as in UltraFeedback ("UltraFeedback: Boosting Language
Models with Scaled AI Feedback", arXiv:2310.01377) and Tülu 3's on-policy preference data (arXiv:2411.15124).

The rules: pointwise or listwise ratings (1-5 per aspect, averaged over aspects and judges): chosen is the
highest mean, rejected a random other (or the lowest) whose mean is at least `min_rating_margin` lower.
Pairwise verdicts asked in both orders (position bias, "Judging LLM-as-a-Judge with MT-Bench and Chatbot
Arena", arXiv:2306.05685): a pair per majority vote, strength 3 only when every judge agreed and no verdict
flipped with the order.
"""

from __future__ import annotations

import random
import re
from typing import Optional

from prefmill.schemas import Candidate, JudgeSummary, PreferencePair, PromptCandidates, stable_id
from prefmill.transforms.pairs.common import make_pair
from prefmill.transforms.pairs.config import PairsConfig


def _mean_rating(candidate: Candidate) -> Optional[float]:
    if not candidate.judgments:
        return None
    return sum(j.mean for j in candidate.judgments) / len(candidate.judgments)


def _aspect_words(candidate: Candidate) -> str:
    if not candidate.judgments:
        return ""
    return " ".join(r.rationale.rstrip(".") + "." for r in candidate.judgments[0].ratings if r.rationale)


def judged_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str, config_hash: str) -> list[PreferencePair]:
    """Tulu 3 style: chosen = highest mean rating, rejected = a random other (or the lowest); the rating gap
    must reach min_rating_margin; ties are dropped. Pairwise comparisons give pairs by majority vote."""
    if pc.comparisons:
        return _pairwise_pairs(pc, config, run_id=run_id, config_hash=config_hash)
    rated = sorted((c for c in pc.candidates if c.judgments), key=lambda c: (-_mean_rating(c), c.id))
    if len(rated) < 2:
        return []
    chosen = rated[0]
    others = [c for c in rated[1:] if _mean_rating(chosen) - _mean_rating(c) >= max(config.min_rating_margin, 1e-9)]
    if not others:
        return []  # a tie at the top, or every gap below the margin
    if config.judged_rejected == "lowest":
        rejected = others[-1]
    else:
        rejected = random.Random(stable_id(config.seed, pc.prompt.id, "judged")).choice(others)
    margin = _mean_rating(chosen) - _mean_rating(rejected)
    judges = sorted({j.judge for j in chosen.judgments} & {j.judge for j in rejected.judgments})
    agree = [j for j in judges if _judge_mean(chosen, j) > _judge_mean(rejected, j)]
    rationale = config.judge_rationale_template.format(
        judges=", ".join(judges), chosen_mean=_mean_rating(chosen), rejected_mean=_mean_rating(rejected),
        chosen_rationale=_aspect_words(chosen), rejected_rationale=_aspect_words(rejected))
    pair = make_pair(pc, chosen, rejected, source="judged", run_id=run_id, config_hash=config_hash,
                     rationale=rationale)
    # ratings the input data held (preference_in.py: judge `incoming-<source>`) keep their source
    sources = {j.split("-", 1)[1] for j in judges if j.startswith("incoming-")}
    label_source = sources.pop() if len(sources) == 1 and all(j.startswith("incoming-") for j in judges) else "ai"
    return [pair.model_copy(update={
        "chosen_score": _mean_rating(chosen), "rejected_score": _mean_rating(rejected), "margin": margin,
        "strength": rating_strength(margin), "label_source": label_source,
        "judge": JudgeSummary(judges=judges, agreement=len(agree) / len(judges) if judges else None,
                              low_confidence=len(agree) < len(judges))})]


def judged_reason(pc: PromptCandidates, config: PairsConfig) -> str:
    """Why the judged strategy gave a prompt no pair (a content reason, never an infrastructure one)."""
    if pc.comparisons:
        return "judges_split"  # every comparison a tie, or judges split evenly
    if sum(1 for c in pc.candidates if c.judgments) < 2:
        return "unjudged"  # fewer than two rated responses (domain not judged, or its judgments dead-lettered)
    return "below_rating_margin"


def _judge_mean(candidate: Candidate, judge: str) -> float:
    return next(j.mean for j in candidate.judgments if j.judge == judge)


def rating_strength(margin: float) -> int:
    """Strength of a judged pair from its mean-rating gap on the 1-5 scale.

    >>> [rating_strength(m) for m in (2.5, 1.0, 0.5)]
    [3, 2, 1]
    """
    return 3 if margin >= 2 else 2 if margin >= 1 else 1


_SHOWN_AS = re.compile(r"\b(?:[Rr]esponse|[Aa]nswer|[Oo]ption|[Cc]andidate)\s+([AB])\b")


def sides_named(rationale: str, *, a_is_chosen: bool) -> str:
    """A pairwise judge's rationale with its prompt positions ("Response A/B") named as the pair's sides; a
    bare A or B left in the text gets the key in front.

    >>> sides_named("Response B is more accurate than response A.", a_is_chosen=False)
    'The chosen response is more accurate than the rejected response.'
    >>> sides_named("A wins.", a_is_chosen=True)
    '(A = chosen, B = rejected) A wins.'
    """
    names = {"A": "chosen" if a_is_chosen else "rejected", "B": "rejected" if a_is_chosen else "chosen"}

    def name(match: re.Match) -> str:
        start = match.start() == 0 or rationale[:match.start()].rstrip().endswith((".", "!", "?"))
        return f"{'The' if start else 'the'} {names[match.group(1)]} response"

    text = _SHOWN_AS.sub(name, rationale)
    if re.search(r"(?<![\w'])[AB](?![\w'])", text):
        text = f"(A = {names['A']}, B = {names['B']}) {text}"
    return text


def _pairwise_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str,
                    config_hash: str) -> list[PreferencePair]:
    by_id = {c.id: c for c in pc.candidates}
    grouped: dict[tuple[str, str], list] = {}
    for comparison in pc.comparisons:
        grouped.setdefault((comparison.first_id, comparison.second_id), []).append(comparison)
    pairs = []
    for (a, b), comparisons in sorted(grouped.items()):
        votes = [c.preferred_id for c in comparisons if c.preferred_id is not None]
        for_a, for_b = votes.count(a), votes.count(b)
        if for_a == for_b:
            continue  # a tie, or judges split evenly: no preference to learn
        chosen_id, rejected_id = (a, b) if for_a > for_b else (b, a)
        consistent = all(c.position_consistent for c in comparisons)
        agreement = max(for_a, for_b) / len(comparisons)
        margin = abs(for_a - for_b) / len(comparisons)
        strength = 3 if agreement == 1 and consistent else 2 if consistent else 1
        rationale = " ".join(sides_named(c.rationale, a_is_chosen=c.first_id == chosen_id)
                             for c in comparisons if c.preferred_id == chosen_id and c.rationale)
        pair = make_pair(pc, by_id[chosen_id], by_id[rejected_id], source="judged", run_id=run_id,
                         config_hash=config_hash, rationale=rationale or None)
        pairs.append(pair.model_copy(update={
            "chosen_score": None, "rejected_score": None, "margin": margin, "strength": strength, "label_source": "ai",
            "judge": JudgeSummary(judges=sorted({c.judge for c in comparisons}), agreement=agreement,
                                  position_consistent=consistent, low_confidence=not consistent or agreement < 1)}))
    random.Random(stable_id(config.seed, pc.prompt.id, "pairwise")).shuffle(pairs)
    return pairs[: config.max_pairs_per_prompt]


def build(pc: PromptCandidates, config: PairsConfig, made: list[PreferencePair], context: dict):
    pairs = judged_pairs(pc, config, **context)
    return pairs, "" if pairs else judged_reason(pc, config)


def idle(run) -> list[str]:
    if not run.judge.enabled and run.input.layout not in ("ultrafeedback", "helpsteer2"):  # rows hold ratings
        return ["pairs.strategies has judged, but judge.enabled is false: no prompt would be judged; set "
                "judge.enabled: true with judge.models, read rated data (input.layout ultrafeedback or "
                "helpsteer2), or drop judged"]
    return []
