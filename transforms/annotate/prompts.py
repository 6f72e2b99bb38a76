"""The annotate stage's prompts: RDPO's rationale request ("Data-Centric Human Preference Optimization with
Rationales", arXiv:2407.14477: the prompt, both responses, and the instruction to name the decisive
differences concretely) with HelpSteer2-Preference's strength scale (arXiv:2410.01257: 1 slightly better,
2 better, 3 much better, with a justification); the blind comparison asks the same -3..3 preference with
neither response named as chosen. Grounding: what prefmill already knows of the pair (a verifier's
evidence, a planted error) goes into the rationale prompt as facts to state."""

from __future__ import annotations

import json

from prefmill.schemas import PreferencePair

PROMPT_VERSION = "rdpo-hs2p-1"

RATIONALE_TEMPLATE = """Below are a prompt and two responses to it. The chosen response is better than the rejected one.

Prompt:
{prompt}

Chosen response:
{chosen}

Rejected response:
{rejected}
{evidence}
Explain why the chosen response is better than the rejected one. Name the decisive differences concretely: \
what each response says or does, not general qualities. Then rate how much better the chosen response is: \
1 (slightly better), 2 (better) or 3 (much better), and justify the rating in one sentence.
Answer with JSON only: {{"rationale": "...", "strength": 1, "justification": "..."}}"""

BLIND_TEMPLATE = """Compare two responses to the same prompt.

Prompt:
{prompt}

Response A:
{first}

Response B:
{second}

Which response is better overall (correct, helpful, does what the prompt asks)? Give an integer from -3 to 3: \
-3 A is much better, -2 A is better, -1 A is slightly better, 0 about the same, 1 B is slightly better, \
2 B is better, 3 B is much better.
Answer with JSON only: {{"preference": 0, "reason": "one sentence"}}"""

RATIONALE_SCHEMA = {"type": "object", "properties": {
    "rationale": {"type": "string"}, "strength": {"type": "integer", "minimum": 1, "maximum": 3},
    "justification": {"type": "string"}}, "required": ["rationale", "strength", "justification"]}
BLIND_SCHEMA = {"type": "object", "properties": {
    "preference": {"type": "integer", "minimum": -3, "maximum": 3}, "reason": {"type": "string"}},
    "required": ["preference", "reason"]}
RETRY_REMINDER = "\n\nYour previous answer could not be read. Answer with the JSON object only."


def conversation(pair: PreferencePair) -> str:
    """The prompt's turns as text (a single user turn as it is)."""
    if len(pair.prompt) == 1:
        return pair.prompt[0].content
    return "\n\n".join(f"[{m.role}] {m.content}" for m in pair.prompt)


def evidence(pair: PreferencePair) -> str:
    """The facts prefmill holds about the pair, for the rationale prompt; '' when it holds none."""
    facts = []
    if pair.error_edit is not None:
        edit = pair.error_edit
        facts.append(f"The rejected response is the chosen one with one error planted on purpose ({edit.error_type}, "
                     f"step {edit.step_index + 1}): \"{edit.original_span.text}\" became \"{edit.edited_span.text}\".")
    elif pair.label_source == "verifier" and pair.rationale:
        facts.append(f"A verifier checked both responses: {pair.rationale}")
    elif pair.annotation is not None and pair.annotation.rationale_source == "incoming" and pair.rationale:
        facts.append(f"The original annotator's note: {pair.rationale}")
    if not facts:
        return ""
    return "\nFacts (checked; state them, do not contradict them):\n" + "\n".join(facts) + "\n"


def rationale_text(pair: PreferencePair, template: str) -> str:
    return template.format(prompt=conversation(pair), chosen=pair.chosen[-1].content,
                           rejected=pair.rejected[-1].content, evidence=evidence(pair))


def blind_text(pair: PreferencePair, template: str, order: str) -> str:
    """`ab`: the chosen response shown first; `ba`: the rejected one first."""
    first, second = (pair.chosen, pair.rejected) if order == "ab" else (pair.rejected, pair.chosen)
    return template.format(prompt=conversation(pair), first=first[-1].content, second=second[-1].content)


class AnswerError(ValueError):
    """An annotator's answer that cannot be read."""


def _json(text: str) -> dict:
    start, end = text.find("{"), text.rfind("}")
    try:
        value = json.loads(text[start:end + 1]) if start >= 0 else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise AnswerError(f"no JSON object in the answer: {text[:200]!r}")
    return value


def parse_blind(text: str) -> int:
    """-3..3 (positive: the second response is better).

    >>> parse_blind('{"preference": -2, "reason": "A is right"}')
    -2
    """
    value = _json(text).get("preference")
    if isinstance(value, bool) or not isinstance(value, int) or not -3 <= value <= 3:
        raise AnswerError(f"preference must be an integer from -3 to 3, got {value!r}")
    return value


def parse_rationale(text: str) -> tuple[str, int, str]:
    """(rationale, strength 1-3, justification)."""
    value = _json(text)
    rationale, strength, justification = value.get("rationale"), value.get("strength"), value.get("justification")
    if not isinstance(rationale, str) or not rationale.strip():
        raise AnswerError("no rationale")
    if isinstance(strength, bool) or not isinstance(strength, int) or not 1 <= strength <= 3:
        raise AnswerError(f"strength must be 1, 2 or 3, got {strength!r}")
    return rationale.strip(), strength, str(justification or "").strip()
