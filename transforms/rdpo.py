"""Rationales on pairs, as RDPO proposes ("Data-Centric Human Preference with Rationales for Direct Preference
Alignment", arXiv:2407.14477, first titled "Data-Centric Human Preference Optimization with Rationales"):
every pair carries why its chosen response is better, for rationale-aware training (`export --format rdpo`).

The rule here: the rationale states facts the pipeline established, from the verifier's evidence (reference
vs extracted answers, failing tests, broken constraints), the planted error of a self-edit pair, the judges'
own aspect notes, or the model order of a delta pair. These are templates, not a model's words (an LLM
annotator is issue 20's `annotate` stage).
"""

from __future__ import annotations

from prefmill.schemas import Verdict


def verifier_rationale(chosen: Verdict, rejected: Verdict) -> str:
    """One or two sentences naming the concrete evidence on both sides.

    >>> ok = Verdict(passed=True, score=1.0, reason="correct", verifier="math", extracted="42", expected="42")
    >>> bad = Verdict(passed=False, score=0.0, reason="wrong_answer", verifier="math", extracted="44", expected="42")
    >>> verifier_rationale(ok, bad)
    'The chosen response reaches the reference answer 42. The rejected response ends with 44, which differs from the reference 42.'
    """
    if chosen.verifier == "math" and rejected.verifier == "math":
        first = f"The chosen response reaches the reference answer {chosen.expected}."
        if rejected.reason == "no_answer":
            second = f"The rejected response states no final answer (the reference is {rejected.expected})."
        else:
            second = (f"The rejected response ends with {rejected.extracted}, which differs from the reference "
                      f"{rejected.expected}.")
        return f"{first} {second}"
    if chosen.verifier == "code" and rejected.verifier == "code" and rejected.reason == "reward_hack":
        return (f"The chosen program passes its tests ({chosen.evidence}). The rejected program tries to game "
                f"the test harness instead of solving the task ({rejected.evidence}).")
    if chosen.verifier == "code" and rejected.verifier == "code":
        return (f"The chosen program passes its tests ({chosen.evidence}). The rejected program does not "
                f"({_reason_words(rejected.reason)}): {rejected.evidence}.")
    if chosen.verifier == "instructions" and rejected.verifier == "instructions":
        return (f"The chosen response follows every instruction ({chosen.evidence}). The rejected response "
                f"breaks some: {rejected.evidence}.")
    return (f"The chosen response passes the {chosen.verifier or 'verifier'} check (score {chosen.score:.2f}: "
            f"{chosen.evidence}); the rejected one does not (score {rejected.score:.2f}: {rejected.evidence}).")


_REASONS = {
    "tests_failed": "some tests fail", "no_code": "it contains no code", "crash": "it crashes",
    "timeout": "it runs out of time", "memory": "it runs out of memory", "output_limit": "it writes too much output",
    "forbidden": "it attempts forbidden operations",
}


def _reason_words(reason: str) -> str:
    return _REASONS.get(reason, reason.replace("_", " "))


def self_edit_rationale(edit, reference: str, granularity: str) -> str:
    """Why the unedited solution (or step) is preferred: the planted error and its consequence."""
    where = f"step {edit.step_index + 1}"
    change = f"'{edit.original_span.text}' to '{edit.edited_span.text}'"
    if granularity == "step":
        return (f"The rejected version of {where} changes {change} ({edit.error_type.replace('_', ' ')}), "
                f"which makes the step wrong; the chosen step is the correct one.")
    return (f"The rejected solution changes {change} in {where} ({edit.error_type.replace('_', ' ')}); "
            f"{edit.evidence.replace('final answer', 'its final answer', 1)}.")


DELTA_TEMPLATE = ("The chosen response comes from {chosen}, ranked above {rejected} in the configured model strength "
                  "order (Delta Learning: the gap between a stronger and a weaker model carries the preference, no "
                  "judge needed).")


def delta_rationale(chosen_model: str, rejected_model: str) -> str:
    return DELTA_TEMPLATE.format(chosen=chosen_model, rejected=rejected_model)
