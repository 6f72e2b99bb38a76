"""Generate: the candidate responses of each prompt.

Modes: `recorded` uses the responses present in the input; `models` samples `n` responses per prompt
from each configured model (one model, a multi-model pool as in Tulu 3, or strong and weak models as in
Delta Learning); `both` keeps the recorded ones and adds generated ones. One model can be marked
`policy` (on-policy data: the model being trained). Every LLM call goes through Beam RunInference with a
prefmill handler and the response cache.

Whatever the source, each candidate is then checked: empty text and truncated output (`finish_reason`
"length") are dead-lettered per candidate, not silently kept; a request that failed after its retries is
a dead letter for that prompt and sample, with the status and message; a prompt left with no usable
candidate is dead-lettered as `no_candidates`.
"""

from __future__ import annotations

from typing import Literal, Optional

import apache_beam as beam
from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefmill.schemas import Candidate, PromptCandidates, TokenUsage, stable_id
from prefmill.transforms.base import DEAD_LETTERS, Reject, Stage, count, dead_letter
from prefmill.transforms.llm.inference import answer_groups, failure_reason
from prefmill.transforms.llm.registry import ModelSpec, make_handler
from prefmill.transforms.llm.requests import LLMRequest, LLMResponse, RequestGroup

EMPTY_RESPONSE = "empty_response"
TRUNCATED = "truncated"
NO_CANDIDATES = "no_candidates"
class CacheConfig(BaseModel):
    """The response cache."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="serve finished requests from the cache (CLI: --no-cache)")
    path: Optional[str] = Field(None, description="cache location; default <output.uri>/_prefmill/cache")


class GenerateConfig(BaseModel):
    """Where candidates come from."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["recorded", "models", "both"] = Field(
        "recorded", description="recorded: responses in the input; models: sample from `models`; both")
    models: list[ModelSpec] = Field(default_factory=list, description="models to sample from")
    keep_truncated: bool = Field(False, description="keep responses cut off at the token limit (finish_reason length)")
    cache: CacheConfig = Field(default_factory=CacheConfig)

    @model_validator(mode="after")
    def _models_fit_mode(self) -> "GenerateConfig":
        if self.mode in ("models", "both") and not self.models:
            raise ValueError(f"generate.mode {self.mode!r} needs at least one entry in generate.models")
        names = [m.name for m in self.models]
        if len(names) != len(set(names)):
            raise ValueError(f"generate.models names must be unique, got {names}")
        if sum(m.policy for m in self.models) > 1:
            raise ValueError("at most one model can be the policy (policy: true)")
        return self


def requests_for(pc: PromptCandidates, spec: ModelSpec) -> list[LLMRequest]:
    messages = [m.model_dump() for m in pc.prompt.messages]
    return [LLMRequest(prompt_id=pc.prompt.id, model=spec.name, messages=messages, params=spec.sampling,
                       sample_index=i, tag={"policy": spec.policy}) for i in range(spec.n)]


def candidate_from(response: LLMResponse) -> Candidate:
    request = response.request
    usage = TokenUsage(prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens)
    return Candidate(
        id=stable_id("candidate", request.prompt_id, request.model, request.sample_index, "generated"),
        prompt_id=request.prompt_id, model=request.model, text=response.text or "",
        sample_index=request.sample_index, sampling_params=request.params.model_dump(mode="json"), usage=usage,
        finish_reason=response.finish_reason, latency_s=response.latency_s,
        metadata={"cached": response.cached, "attempts": response.attempts,
                  "policy": bool((request.tag or {}).get("policy"))},
    )


def _with_requests(pc: PromptCandidates, spec: ModelSpec) -> RequestGroup:
    return RequestGroup(pc, requests_for(pc, spec))


class _AddCandidates(beam.DoFn):
    """A prompt's answered group -> the prompt with this model's candidates appended; failed requests are
    dead letters (the prompt goes on: CheckCandidates decides whether it still has enough)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def process(self, group: RequestGroup):
        fresh = []
        for response in group.responses:
            request = response.request
            count("generate", "requests")
            if response.ok:
                if not response.cached and response.completion_tokens:
                    count("generate", "completion_tokens", response.completion_tokens)
                fresh.append(candidate_from(response))
                continue
            reason = failure_reason(response)
            yield dead_letter(
                "generate", reason, record_id=f"{request.prompt_id}/{request.model}/{request.sample_index}",
                payload={"prompt_id": request.prompt_id, "model": request.model,
                         "sample_index": request.sample_index, "messages": request.messages},
                error=f"{response.error} (after {response.attempts} attempt(s))", run_id=self.run_id)
        pc = group.owner
        fresh.sort(key=lambda c: c.sample_index)
        yield pc.model_copy(update={"candidates": list(pc.candidates) + fresh})


class GenerateWithModels(beam.PTransform):
    """PromptCandidates -> PromptCandidates with sampled candidates added (main) and dead letters.

    Each prompt goes through the models' RunInference steps one after the other as a RequestGroup (the
    prompt and its n requests), so its candidates come back attached to it: no shuffle of every candidate
    and no join, and whatever follows (verification, judging) runs in the same fused step."""

    def __init__(self, config: GenerateConfig, cache_path: Optional[str], run_id: str = "") -> None:
        super().__init__()
        self.config = config
        self.cache_path = cache_path  # None when the cache is off (decided once, in the pipeline builder)
        self.run_id = run_id

    def expand(self, prompts):
        # Reshuffle the prompts: spread them over all workers. Without it the LLM step stays fused to the
        # read, so its parallelism is the number of input ranges (often one file, one worker). Prompts, not
        # requests: a prompt's samples stay together, so a server that honours n gets them in one request.
        keep_recorded = self.config.mode == "both"
        current = (prompts | "SpreadPrompts" >> beam.Reshuffle()
                   | "StartCandidates" >> beam.Map(
                       lambda pc: pc if keep_recorded else pc.model_copy(update={"candidates": []})))
        dead = []
        for spec in self.config.models:  # candidates come out in model order, then sample order
            groups = current | f"Requests[{spec.name}]" >> beam.Map(_with_requests, spec)
            answered = answer_groups(groups, f"RunInference[{spec.name}]", make_handler(spec, self.cache_path))
            added = answered | f"AddCandidates[{spec.name}]" >> beam.ParDo(_AddCandidates(self.run_id)).with_outputs(
                DEAD_LETTERS, main="ok")
            current = added.ok
            dead.append(added[DEAD_LETTERS])
        return {"main": current, "dead_letters": dead | "GenerateDeadLetters" >> beam.Flatten()}


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


class CheckCandidates(Stage):
    """The per-prompt accounting of the generate stage: flags unusable candidates, keeps the rest."""

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
