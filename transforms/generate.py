"""Generate: the candidate responses of each prompt.

This slice uses recorded candidates, the responses already present in the input. Each recorded response
is checked the way a freshly generated one will be: empty text and truncated output (`finish_reason`
"length") are dead-lettered per candidate with their reason, not silently kept as training data. A prompt
left with no usable candidate is dead-lettered as `no_candidates`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import PromptCandidates
from prefmill.transforms.base import Reject, Stage

EMPTY_RESPONSE = "empty_response"
TRUNCATED = "truncated"
NO_CANDIDATES = "no_candidates"


class GenerateConfig(BaseModel):
    """Where candidates come from."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["recorded"] = Field("recorded", description="recorded: use the responses present in the input")
    keep_truncated: bool = Field(False, description="keep responses cut off at the token limit (finish_reason length)")


def usable_candidates(pc: PromptCandidates, keep_truncated: bool = False):
    """Split a prompt's candidates into (kept, [(candidate, reason)]).

    >>> from prefmill.schemas import Prompt, Message, Candidate
    >>> p = Prompt(id="p", messages=[Message(role="user", content="hi")])
    >>> c = [Candidate(id="a", prompt_id="p", model="m", text="hello"),
    ...      Candidate(id="b", prompt_id="p", model="m", text="  "),
    ...      Candidate(id="c", prompt_id="p", model="m", text="hel", finish_reason="length")]
    >>> kept, dropped = usable_candidates(PromptCandidates(prompt=p, candidates=c))
    >>> [k.id for k in kept], [(d.id, r) for d, r in dropped]
    (['a'], [('b', 'empty_response'), ('c', 'truncated')])
    """
    kept, dropped = [], []
    for candidate in pc.candidates:
        if not candidate.text.strip():
            dropped.append((candidate, EMPTY_RESPONSE))
        elif candidate.finish_reason == "length" and not keep_truncated:
            dropped.append((candidate, TRUNCATED))
        else:
            kept.append(candidate)
    return kept, dropped


class RecordedCandidates(Stage):
    name = "generate"

    def __init__(self, config: GenerateConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config

    def record_id(self, element: PromptCandidates) -> str:
        return element.prompt.id

    def handle(self, pc: PromptCandidates):
        kept, dropped = usable_candidates(pc, self.config.keep_truncated)
        for candidate, reason in dropped:
            yield Reject(reason, error=f"candidate {candidate.id} from {candidate.model}", record_id=candidate.id,
                         payload=candidate)
        if not kept:
            yield Reject(NO_CANDIDATES, error="the prompt has no usable candidate response")
            return
        yield pc.model_copy(update={"candidates": kept})
