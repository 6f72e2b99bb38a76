"""Incoming pairs: the label a preference dataset already holds (TRL, HelpSteer2-Preference, MultiPref rows;
see preference_in.py), turned into a pair as it came.

The rule: the primary label (human before AI before unknown) decides chosen and rejected; its source becomes
the pair's `label_source`, its strength (1-3, HelpSteer2-Preference's scale) the pair's strength, and its
written justification the rationale. Lesser labels (MultiPref's AI label beside the human one) are kept as
votes on the pair, so a disagreement is visible; nothing replaces the primary label here (the annotate
stage may flag it, see annotate/noise.py).
"""

from __future__ import annotations

from prefmill.schemas import Annotation, PreferencePair, PromptCandidates, Vote
from prefmill.transforms.pairs.common import make_pair, normalize_text
from prefmill.transforms.pairs.config import PairsConfig


def incoming_pairs(pc: PromptCandidates, *, run_id: str, config_hash: str) -> list[PreferencePair]:
    label = pc.incoming[0]
    by_id = {c.id: c for c in pc.candidates}
    chosen, rejected = by_id.get(label.chosen_id), by_id.get(label.rejected_id)
    if chosen is None or rejected is None or normalize_text(chosen.text) == normalize_text(rejected.text):
        return []
    strength = f", strength {label.strength} of 3" if label.strength else ""
    who = {"human": "a human annotator", "ai": "an AI annotator", "unknown": "the input data"}[label.source]
    rationale = label.rationale or f"Preferred by {who}{strength}; the data gives no reason."
    votes = [Vote(annotator=f"incoming-{other.source}", margin=(other.strength or 1) * (
        1 if (other.chosen_id, other.rejected_id) == (label.chosen_id, label.rejected_id) else -1))
             for other in pc.incoming[1:]]
    pair = make_pair(pc, chosen, rejected, source="incoming", run_id=run_id, config_hash=config_hash,
                     rationale=rationale)
    return [pair.model_copy(update={
        "label_source": label.source, "strength": label.strength, "chosen_score": None, "rejected_score": None,
        "margin": None,
        "annotation": Annotation(rationale_source="incoming" if label.rationale else "template", votes=votes,
                                 label_agreement=(sum(v.margin > 0 for v in votes) / len(votes)) if votes else None)})]


def build(pc: PromptCandidates, config: PairsConfig, made: list[PreferencePair], context: dict):
    if pc.prompt.metadata.get("incoming_tie"):
        return [], "incoming_tie"
    if not pc.incoming:
        return [], "no_incoming_label"
    pairs = incoming_pairs(pc, **context)
    if not pairs:
        return [], "identical_texts"
    return pairs, ""


def idle(run) -> list[str]:
    if not run.input.is_preference() or run.input.layout in ("ultrafeedback", "helpsteer2"):
        return ["pairs.strategies has incoming, which needs preference data in: input.layout trl, "
                "helpsteer2_preference or multipref (ultrafeedback's and helpsteer2's ratings are paired by the "
                "judged strategy)"]
    return []
