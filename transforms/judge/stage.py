"""The judge stage: LLM ratings of candidates (UltraFeedback style) or pairwise preferences, for judged pairs.

listwise: each judge sees all of a prompt's responses in one request and rates each on the aspects, as
UltraFeedback's annotation did (one call per prompt: the cheapest mode, and the responses are rated
against each other). Responses are shown in candidate-id order, which is unrelated to the model.

pointwise: each judge rates each response on four aspects (helpfulness, instruction following, honesty,
truthfulness), 1 to 5 with a rationale per aspect, as structured output validated by pydantic.
pairwise: each judge compares every two responses in both orders (A/B, then B/A); a verdict that flips with
the order is position-inconsistent, and the pair it makes is marked low-confidence for routing.
An unparseable judgment is retried once with a reminder (a new cache key), then becomes a dead letter with
the judge's raw text. It never becomes a silent rating.
"""

from __future__ import annotations

import itertools
from typing import Optional

import apache_beam as beam

from prefmill.schemas import Judgment, PromptCandidates
from prefmill.transforms.base import DEAD_LETTERS, Stage, count, dead_letter
from prefmill.transforms.judge.answers import RETRY_REMINDER, JudgeParseError
from prefmill.transforms.judge.config import JudgeConfig
from prefmill.transforms.judge.pairwise import PAIRWISE_SCHEMA, comparisons_of, parse_pairwise
from prefmill.transforms.judge.ultrafeedback import aspect_schema, listwise_schema, parse_listwise, parse_pointwise
from prefmill.transforms.llm.inference import answer_groups, failure_reason
from prefmill.transforms.llm.registry import ModelSpec, make_handler
from prefmill.transforms.llm.requests import LLMRequest, LLMResponse, RequestGroup


def judge_requests(pc: PromptCandidates, config: JudgeConfig, spec: ModelSpec, attempt: int = 0) -> list[LLMRequest]:
    if pc.prompt.domain not in config.domains or len(pc.candidates) < 2:
        return []
    question = pc.prompt.question
    schema = {"pointwise": aspect_schema(config.aspects), "listwise": listwise_schema(config.aspects),
              "pairwise": PAIRWISE_SCHEMA}[config.mode]
    params = spec.sampling.model_copy(update={"json_schema": schema})
    reminder = RETRY_REMINDER if attempt else ""
    requests = []
    if config.mode == "listwise":
        shown = sorted(pc.candidates, key=lambda c: c.id)
        responses = "\n\n".join(f"Response {i}:\n{c.text}" for i, c in enumerate(shown, 1))
        text = config.listwise_template.format(rubric=config.rubric, question=question, responses=responses,
                                               aspects=", ".join(config.aspects))
        return [LLMRequest(prompt_id=pc.prompt.id, model=spec.name, params=params, sample_index=attempt,
                           messages=[{"role": "user", "content": text + reminder}],
                           tag={"judge": spec.name, "candidates": [c.id for c in shown], "attempt": attempt})]
    if config.mode == "pointwise":
        for c in pc.candidates:
            text = config.pointwise_template.format(rubric=config.rubric, question=question, response=c.text,
                                                    aspects=", ".join(config.aspects))
            requests.append(LLMRequest(prompt_id=pc.prompt.id, model=spec.name, params=params, sample_index=attempt,
                                       messages=[{"role": "user", "content": text + reminder}],
                                       tag={"judge": spec.name, "candidate": c.id, "attempt": attempt}))
        return requests
    for a, b in itertools.combinations(sorted(pc.candidates, key=lambda c: c.id), 2):
        for first, second, order in ((a, b, "ab"), (b, a, "ba")):
            text = config.pairwise_template.format(question=question, first=first.text, second=second.text)
            requests.append(LLMRequest(prompt_id=pc.prompt.id, model=spec.name, params=params, sample_index=attempt,
                                       messages=[{"role": "user", "content": text + reminder}],
                                       tag={"judge": spec.name, "pair": (a.id, b.id), "order": order,
                                            "attempt": attempt}))
    return requests


def retry_request(request: LLMRequest) -> LLMRequest:
    """The second attempt at a judgment whose answer could not be read: the same request with the reminder
    appended (exactly what `judge_requests(..., attempt=1)` builds for it, so the cache key matches)."""
    messages = [dict(m) for m in request.messages]
    messages[-1]["content"] = messages[-1]["content"] + RETRY_REMINDER
    return LLMRequest(prompt_id=request.prompt_id, model=request.model, messages=messages, params=request.params,
                      sample_index=1, tag={**request.tag, "attempt": 1})


def _for_judge(item: tuple, config: JudgeConfig, spec: ModelSpec) -> RequestGroup:
    pc, _ = item
    return RequestGroup(item, judge_requests(pc, config, spec))


def parse_answer(response: LLMResponse, config: JudgeConfig):
    """The judgment in one answer, by the config's mode; JudgeParseError when it cannot be read."""
    tag = response.request.tag
    if not response.ok:
        raise JudgeParseError(f"request failed: {response.error}")
    if config.mode == "pointwise":
        return parse_pointwise(response.text, config.aspects, tag["judge"])
    if config.mode == "listwise":
        return parse_listwise(response.text, config.aspects, tag["judge"], len(tag["candidates"]))
    return parse_pairwise(response.text)


class SecondTry:
    """For the handler (`for_groups(second_try=...)`): a first answer that cannot be read is asked again."""

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config

    def __call__(self, response: LLMResponse) -> Optional[LLMRequest]:
        if response.request.tag["attempt"] != 0 or not response.ok:
            return None  # a failed request was already retried by the handler; it is not an unreadable answer
        try:
            # kept on the response, so _Parse does not read the same answer a second time
            response.extra["judgment"] = parse_answer(response, self.config)
            return None
        except JudgeParseError:
            count("judge", "retries")
            return retry_request(response.request)


class _Parse(beam.DoFn):
    """An answered group -> (prompt, judgments so far + these); an answer that cannot be read even on the
    second try is a dead letter with the judge's raw text."""

    def __init__(self, config: JudgeConfig, run_id: str) -> None:
        self.config = config
        self.run_id = run_id

    def process(self, group: RequestGroup):
        pc, judged = group.owner
        judged = list(judged)
        for response in group.responses:
            request, tag = response.request, response.request.tag
            count("judge", "judgments")
            if not response.ok:  # the request itself failed (network, HTTP, timeout): say so, not "unparseable"
                yield dead_letter("judge", failure_reason(response), record_id=f"{request.prompt_id}/{tag['judge']}/"
                                  f"{_about(tag)}", payload={"judge": tag["judge"]}, error=response.error or "no answer",
                                  run_id=self.run_id)
                continue
            try:
                parsed = response.extra["judgment"] if "judgment" in response.extra else parse_answer(
                    response, self.config)
                judged.append((tag, parsed))
            except JudgeParseError as exc:
                yield dead_letter("judge", "unparseable_judgment", record_id=f"{request.prompt_id}/{tag['judge']}/"
                                  f"{_about(tag)}", payload={"judge": tag["judge"], "answer": response.text},
                                  error=str(exc), run_id=self.run_id)
        yield pc, judged


class JudgeCandidates(beam.PTransform):
    """PromptCandidates -> (PromptCandidates, parsed judgments) and unparseable-judgment dead letters.

    Each prompt goes through the judges one after the other as a RequestGroup (the prompt, its judgments so
    far, and this judge's requests), so the answers come back attached to it: no join after judging, and
    the step fuses with generation and pair building. Unreadable answers are asked again inside the same
    step (see SecondTry)."""

    def __init__(self, config: JudgeConfig, cache_path: Optional[str], run_id: str = "",
                 spread: bool = True) -> None:
        super().__init__()
        self.config = config
        self.cache_path = cache_path
        self.run_id = run_id
        self.spread = spread  # False when the input is already spread over the workers

    def expand(self, prompts):
        config = self.config
        if self.spread:
            prompts = prompts | "SpreadPrompts" >> beam.Reshuffle()  # over all workers
        current = prompts | "StartJudgments" >> beam.Map(lambda pc: (pc, []))
        dead = []
        for spec in config.models:
            groups = current | f"JudgeRequests[{spec.name}]" >> beam.Map(_for_judge, config, spec)
            parsed = (answer_groups(groups, f"Judge[{spec.name}]", make_handler(spec, self.cache_path, stage="judge"),
                                    second_try=SecondTry(config))
                      | f"Parse[{spec.name}]" >> beam.ParDo(_Parse(config, self.run_id)).with_outputs(
                          DEAD_LETTERS, main="ok"))
            current = parsed.ok
            dead.append(parsed[DEAD_LETTERS])
        return {"main": current, "dead_letters": dead | "JudgeDeadLetters" >> beam.Flatten()}


def _about(tag: dict) -> str:
    if "candidates" in tag:
        return "all"
    return tag.get("candidate") or "-".join(tag["pair"])


def combine(pc: PromptCandidates, judged: list, config: JudgeConfig) -> PromptCandidates:
    """Attach pointwise or listwise judgments to candidates, or both-order pairwise answers as Comparisons."""
    if config.mode in ("pointwise", "listwise"):
        by_candidate: dict[str, dict[str, Judgment]] = {}
        for tag, parsed in judged:
            if config.mode == "pointwise":
                by_candidate.setdefault(tag["candidate"], {})[tag["judge"]] = parsed
                continue
            for candidate_id, judgment in zip(tag["candidates"], parsed):
                by_candidate.setdefault(candidate_id, {})[tag["judge"]] = judgment
        candidates = [c.model_copy(update={"judgments": list(by_candidate.get(c.id, {}).values())})
                      for c in pc.candidates]
        return pc.model_copy(update={"candidates": candidates})
    return pc.model_copy(update={"comparisons": pc.comparisons + comparisons_of(judged)})


class AttachJudgments(Stage):
    """The per-prompt accounting of judging: attaches ratings or comparisons, always passes the prompt on."""

    name = "judge"

    def __init__(self, config: JudgeConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config

    def record_id(self, element) -> str:
        return element[0].prompt.id

    def handle(self, element):
        pc, judged = element
        yield combine(pc, judged, self.config)
