"""Self-edit pairs, from RISE ("Subtle Errors in Reasoning: Preference Learning via Error-injected
Self-editing", arXiv:2410.06638): a correct solution is chosen over the same solution with one subtle error
planted in one step.

The rule: every accepted self-edit (see transforms/rise/) gives a full-solution pair and, as in Step-DPO
(arXiv:2406.18629), a step-level pair whose prompt carries the solution so far; both have margin 1 and
strength 3, and the edit's type and spans are stored on the pair.
"""

from __future__ import annotations

from prefmill.schemas import Candidate, ErrorEdit, Message, PreferencePair, PromptCandidates, SelfEdit, Span, stable_id
from prefmill.transforms.pairs.config import PairsConfig
from prefmill.transforms.rdpo import self_edit_rationale


def self_edit_pairs(pc: PromptCandidates, config: PairsConfig, *, run_id: str,
                    config_hash: str) -> list[PreferencePair]:
    """RISE pairs from accepted self-edits: (correct, edited) full solutions and (correct, edited) steps."""
    pairs = []
    by_id = {c.id: c for c in pc.candidates}
    reference = pc.prompt.reference.answer if pc.prompt.reference else ""
    for edit in pc.edits:
        chosen = by_id.get(edit.candidate_id)
        if chosen is None:
            continue
        for granularity in config.self_edit_granularity:
            pairs.append(_self_edit_pair(pc, chosen, edit, granularity, reference, run_id, config_hash))
    return pairs


def _self_edit_pair(pc: PromptCandidates, chosen: Candidate, edit: SelfEdit, granularity: str, reference: str,
                    run_id: str, config_hash: str) -> PreferencePair:
    rejected_id = stable_id("self_edit", edit.candidate_id, edit.step_index, edit.error_type, edit.edited_step)
    if granularity == "step":
        prompt = list(pc.prompt.messages)
        if edit.prefix.strip():
            prompt.append(Message(role="assistant", content=edit.prefix))
        chosen_text, rejected_text = edit.original_step, edit.edited_step
        step_start = edit.original_span.start - len(edit.prefix)
        original = Span(start=step_start, end=step_start + len(edit.original_span.text), text=edit.original_span.text)
        edited_start = edit.edited_span.start - len(edit.prefix)
        edited = Span(start=edited_start, end=edited_start + len(edit.edited_span.text), text=edit.edited_span.text)
    else:
        prompt, chosen_text, rejected_text = pc.prompt.messages, chosen.text, edit.rejected_solution
        original, edited = edit.original_span, edit.edited_span
    return PreferencePair(
        id=PreferencePair.make_id(pc.prompt.id, chosen.id, rejected_id, f"self_edit/{granularity}"),
        prompt_id=pc.prompt.id, domain=pc.prompt.domain, prompt=prompt,
        chosen=[Message(role="assistant", content=chosen_text)],
        rejected=[Message(role="assistant", content=rejected_text)],
        chosen_model=chosen.model, rejected_model=f"{chosen.model}+{edit.method}-edit",
        chosen_score=1.0, rejected_score=0.0, pair_source="self_edit", granularity=granularity,
        margin=1.0, strength=3, rationale=self_edit_rationale(edit, reference, granularity), label_source="verifier",
        error_edit=ErrorEdit(error_type=edit.error_type, step_index=edit.step_index, original_span=original,
                             edited_span=edited, token_distance=edit.token_distance),
        chosen_candidate_id=chosen.id, rejected_candidate_id=rejected_id, run_id=run_id, config_hash=config_hash,
    )


def build(pc: PromptCandidates, config: PairsConfig, made: list[PreferencePair], context: dict):
    return self_edit_pairs(pc, config, **context), ""


def idle(run) -> list[str]:
    if not run.inject.enabled:
        return ["pairs.strategies has self_edit, but inject.enabled is false, so there are no self-edits; set "
                "inject.enabled: true (method: rule needs no model)"]
    if not run.verify.enabled:
        return ["pairs.strategies has self_edit, but verify.enabled is false: RISE edits only verified-correct "
                "solutions, so there would be none; turn verification on"]
    return []
