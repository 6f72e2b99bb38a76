"""CDR labels: "Customizable Density Ratios of Strong-over-weak LLMs for Preference Annotation" (Xu et al.,
arXiv:2411.02481).

The rule: a response's reward is the log-density ratio log p_strong(y | x) - log p_weak(y | x) of a strong
model over a weaker one (an aligned model over its base, or over a weaker sibling); no judge is asked. The
paper's customisation puts the criteria that matter (safety, reasoning, chat) in the strong model's system
prompt. This stage scores every candidate under both models (`LLMHandler.score`, any backend with the
`scoring` capability) and attaches a `DensityRatio` to it; the `density_ratio` pair strategy
(pairs/density_ratio.py) turns the ratios into pairs.
"""

from __future__ import annotations

from typing import Optional

import apache_beam as beam
from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import Candidate, DensityRatio, PromptCandidates
from prefmill.transforms.base import DEAD_LETTERS, Stage, count, dead_letter
from prefmill.transforms.llm.inference import answer_groups, failure_reason
from prefmill.transforms.llm.registry import ModelSpec, make_handler
from prefmill.transforms.llm.requests import LLMRequest, RequestGroup, SamplingParams
from prefmill.transforms.verify.registry import KnownDomain


class DensityRatioConfig(BaseModel):
    """CDR: candidates labelled by the log-density ratio of a strong over a weak model."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="score candidates under both models (needs the density_ratio strategy)")
    strong: Optional[ModelSpec] = Field(None, description="the strong (aligned) model entry; its backend must score")
    weak: Optional[ModelSpec] = Field(None, description="the weak model entry (its base, or a weaker sibling)")
    criteria: Optional[str] = Field(
        None, description="system prompt for the strong model only: the criteria that matter (CDR's customisation)")
    length_normalize: bool = Field(False, description="divide the ratio by the response's token count")
    domains: Optional[list[KnownDomain]] = Field(None, description="domains to score (unset: every domain)")


def strong_messages(messages: list[dict], criteria: Optional[str]) -> list[dict]:
    """The prompt as the strong model sees it: the criteria as its system prompt, before any system turn the
    prompt has.

    >>> strong_messages([{"role": "user", "content": "hi"}], "Be safe.")
    [{'role': 'system', 'content': 'Be safe.'}, {'role': 'user', 'content': 'hi'}]
    >>> pirate = [{"role": "system", "content": "Pirate voice."}, {"role": "user", "content": "hi"}]
    >>> strong_messages(pirate, "Be safe.")[0]
    {'role': 'system', 'content': 'Be safe.\\n\\nPirate voice.'}
    """
    if not criteria:
        return list(messages)
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": f"{criteria}\n\n{messages[0]['content']}"}, *messages[1:]]
    return [{"role": "system", "content": criteria}, *messages]


def score_requests(pc: PromptCandidates, config: DensityRatioConfig, side: str) -> list[LLMRequest]:
    if len(pc.candidates) < 2 or (config.domains is not None and pc.prompt.domain not in config.domains):
        return []
    spec = config.strong if side == "strong" else config.weak
    messages = [m.model_dump() for m in pc.prompt.messages]
    if side == "strong":
        messages = strong_messages(messages, config.criteria)
    return [LLMRequest(prompt_id=pc.prompt.id, model=spec.name, messages=messages, params=SamplingParams(),
                       score_text=c.text, tag={"side": side, "candidate": c.id}) for c in pc.candidates]


def ratio_of(candidate: Candidate, strong: float, weak: float, tokens: int, config: DensityRatioConfig) -> DensityRatio:
    value = strong - weak
    if config.length_normalize:
        value = value / tokens if tokens else 0.0
    return DensityRatio(strong=config.strong.name, weak=config.weak.name, strong_logprob=strong, weak_logprob=weak,
                        tokens=tokens, value=value, normalized=config.length_normalize)


class _Collect(beam.DoFn):
    """An answered group -> (prompt, scores so far + these); a failed score is a dead letter with its reason."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def process(self, group: RequestGroup):
        pc, scores = group.owner
        scores = dict(scores)
        for response in group.responses:
            tag = response.request.tag
            count("density_ratio", "scores")
            if not response.ok:
                yield dead_letter("density_ratio", failure_reason(response), record_id=f"{pc.prompt.id}/{tag['side']}/"
                                  f"{tag['candidate']}", payload={"model": response.request.model},
                                  error=response.error or "no score", run_id=self.run_id)
                continue
            scores[(tag["side"], tag["candidate"])] = (response.logprob, len(response.token_logprobs))
        yield pc, scores


class ScoreDensityRatios(beam.PTransform):
    """PromptCandidates -> (PromptCandidates, {(side, candidate id): (logprob, tokens)}), and dead letters of
    scores that failed. The strong model's requests, then the weak model's, travel with their prompt."""

    def __init__(self, config: DensityRatioConfig, cache_path: Optional[str], run_id: str = "") -> None:
        super().__init__()
        self.config = config
        self.cache_path = cache_path
        self.run_id = run_id

    def expand(self, prompts):
        config, dead = self.config, []
        current = prompts | "StartScores" >> beam.Map(lambda pc: (pc, {}))
        for side in ("strong", "weak"):
            spec = config.strong if side == "strong" else config.weak
            groups = current | f"ScoreRequests[{side}]" >> beam.Map(
                lambda item, s=side: RequestGroup(item, score_requests(item[0], config, s)))
            handler = make_handler(spec, self.cache_path, stage="density_ratio")
            collected = (answer_groups(groups, f"Score[{side}:{spec.name}]", handler)
                         | f"CollectScores[{side}]" >> beam.ParDo(_Collect(self.run_id)).with_outputs(
                             DEAD_LETTERS, main="ok"))
            current = collected.ok
            dead.append(collected[DEAD_LETTERS])
        return {"main": current, "dead_letters": dead | "DensityRatioDeadLetters" >> beam.Flatten()}


class AttachDensityRatios(Stage):
    """The per-prompt accounting: a candidate scored by both models gets its DensityRatio; the prompt always
    goes on (a candidate with a failed score has none, and the strategy says `unscored`)."""

    name = "density_ratio"

    def __init__(self, config: DensityRatioConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config

    def record_id(self, element) -> Optional[str]:
        return element[0].prompt.id

    def handle(self, element):
        pc, scores = element
        candidates = []
        for c in pc.candidates:
            strong, weak = scores.get(("strong", c.id)), scores.get(("weak", c.id))
            if strong is not None and weak is not None:
                c = c.model_copy(update={"density_ratio": ratio_of(c, strong[0], weak[0], strong[1], self.config)})
                self.counter("ratios").inc()
            candidates.append(c)
        yield pc.model_copy(update={"candidates": candidates})
