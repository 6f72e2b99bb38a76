"""Judge: LLM ratings of candidates (UltraFeedback style) or pairwise preferences, for judged pairs.

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
import json
from functools import lru_cache
from typing import Literal, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from prefmill.schemas import AspectRating, Comparison, DeadLetter, Judgment, PromptCandidates
from prefmill.transforms.base import DEAD_LETTERS, METRIC_PREFIX, Stage, encode_payload
from prefmill.transforms.llm.inference import answer_groups, failure_reason
from prefmill.transforms.llm.registry import ModelSpec, make_handler
from prefmill.transforms.llm.requests import LLMRequest, LLMResponse, RequestGroup

ASPECTS = ["helpfulness", "instruction_following", "honesty", "truthfulness"]

RUBRIC = """You are an impartial judge of AI assistant responses. Rate the response on each aspect from 1 (poor)
to 5 (excellent): helpfulness (does it solve the user's need), instruction_following (does it do what was
asked, in the requested form), honesty (does it express uncertainty and avoid overclaiming), truthfulness
(are its statements correct, with nothing made up). Give a one-sentence rationale per aspect."""

POINTWISE_TEMPLATE = """{rubric}

User request:
{question}

Response to rate:
{response}

Reply with JSON only: {{"<aspect>": {{"rating": 1-5, "rationale": "..."}}, ...}} for the aspects {aspects}."""

PAIRWISE_TEMPLATE = """You are an impartial judge. Which response better answers the user's request? Consider helpfulness,
instruction following, honesty and truthfulness; ignore length and position.

User request:
{question}

Response A:
{first}

Response B:
{second}

Reply with JSON only: {{"preferred": "A" | "B" | "tie", "rationale": "one or two sentences"}}."""

LISTWISE_TEMPLATE = """{rubric}

User request:
{question}

{responses}

Reply with JSON only: {{"responses": [...]}}, one entry per response in the order shown, each
{{"<aspect>": {{"rating": 1-5, "rationale": "..."}}, ...}} for the aspects {aspects}."""

RETRY_REMINDER = "\n\nYour previous reply could not be read. Reply with the JSON object only, nothing else."


class JudgeConfig(BaseModel):
    """LLM judges for judged pairs."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="rate candidates with LLM judges")
    mode: Literal["pointwise", "listwise", "pairwise"] = Field(
        "pointwise", description="ratings per response, all responses rated in one call, or A/B preferences")
    models: list[ModelSpec] = Field(default_factory=list, description="one or more judge models")
    domains: list[Literal["math", "code", "instruction", "chat"]] = Field(
        default_factory=lambda: ["chat"], description="domains to judge (verifiers decide the others)")
    aspects: list[str] = Field(default_factory=lambda: list(ASPECTS), description="rated aspects (pointwise)")
    rubric: str = Field(RUBRIC, description="the rating rubric, {rubric} in the pointwise template")
    pointwise_template: str = Field(POINTWISE_TEMPLATE, description="{rubric} {question} {response} {aspects}")
    pairwise_template: str = Field(PAIRWISE_TEMPLATE, description="{question} {first} {second}")
    listwise_template: str = Field(LISTWISE_TEMPLATE, description="{rubric} {question} {responses} {aspects}")


class JudgeParseError(ValueError):
    """A judge's answer does not match the expected structure."""


def aspect_schema(aspects: list[str]) -> dict:
    rating = {"type": "object", "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 5},
                                               "rationale": {"type": "string"}}, "required": ["rating", "rationale"]}
    return {"type": "object", "properties": {a: rating for a in aspects}, "required": list(aspects)}


def listwise_schema(aspects: list[str]) -> dict:
    return {"type": "object", "properties": {"responses": {"type": "array", "items": aspect_schema(aspects)}},
            "required": ["responses"]}


PAIRWISE_SCHEMA = {"type": "object", "properties": {"preferred": {"enum": ["A", "B", "tie"]},
                                                    "rationale": {"type": "string"}}, "required": ["preferred"]}


class _AspectAnswer(BaseModel):
    rating: int = Field(ge=1, le=5)
    rationale: str = ""


class _PairwiseAnswer(BaseModel):
    preferred: Literal["A", "B", "tie"]
    rationale: str = ""


def _json_object(text: Optional[str]) -> dict:
    if not text:
        raise JudgeParseError("empty answer")
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise JudgeParseError("no JSON object in the answer")
    try:
        value = json.loads(body[start:end + 1])
    except json.JSONDecodeError as exc:
        raise JudgeParseError(f"invalid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise JudgeParseError("the answer is not a JSON object")
    return value


def parse_pointwise(text: Optional[str], aspects: list[str], judge: str) -> Judgment:
    """A judge's answer -> Judgment; JudgeParseError when any aspect is missing or out of range.

    >>> j = parse_pointwise('{"helpfulness": {"rating": 4, "rationale": "ok"}}', ["helpfulness"], "j")
    >>> (j.mean, j.ratings[0].rating)
    (4.0, 4)
    """
    return _judgment(_json_object(text), aspects, judge)


@lru_cache(maxsize=64)
def _aspect_model(aspects: tuple[str, ...]) -> type[BaseModel]:
    # built once per aspect list: creating a pydantic model per judgment cost 0.7 ms, more than the parse
    return create_model("AspectAnswers", **{a: (_AspectAnswer, ...) for a in aspects})


def _judgment(answer: dict, aspects: list[str], judge: str) -> Judgment:
    try:
        rated = _aspect_model(tuple(aspects)).model_validate(answer)
    except ValidationError as exc:
        raise JudgeParseError(f"invalid ratings: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from None
    ratings = [AspectRating(aspect=a, rating=getattr(rated, a).rating, rationale=getattr(rated, a).rationale)
               for a in aspects]
    return Judgment(judge=judge, ratings=ratings, mean=sum(r.rating for r in ratings) / len(ratings))


def parse_listwise(text: Optional[str], aspects: list[str], judge: str, count: int) -> list[Judgment]:
    """A judge's ratings of all `count` responses, in the order shown; JudgeParseError when any is missing.

    >>> one = {"helpfulness": {"rating": 2, "rationale": "thin"}}
    >>> [j.mean for j in parse_listwise(json.dumps({"responses": [one, one]}), ["helpfulness"], "j", 2)]
    [2.0, 2.0]
    """
    responses = _json_object(text).get("responses")
    if not isinstance(responses, list) or len(responses) != count:
        raise JudgeParseError(f"expected {count} rated responses, got "
                              f"{len(responses) if isinstance(responses, list) else 'none'}")
    if not all(isinstance(r, dict) for r in responses):
        raise JudgeParseError("every rated response must be a JSON object")
    return [_judgment(r, aspects, judge) for r in responses]


def parse_pairwise(text: Optional[str]) -> tuple[str, str]:
    """(preferred "A" | "B" | "tie", rationale)."""
    try:
        answer = _PairwiseAnswer.model_validate(_json_object(text))
    except ValidationError as exc:
        raise JudgeParseError(f"invalid preference: {exc.errors()[0]['msg']}") from None
    return answer.preferred, answer.rationale


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
            Metrics.counter(METRIC_PREFIX + "judge", "retries").inc()
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
            Metrics.counter(METRIC_PREFIX + "judge", "judgments").inc()
            if not response.ok:  # the request itself failed (network, HTTP, timeout): say so, not "unparseable"
                reason = failure_reason(response)
                Metrics.counter(METRIC_PREFIX + "judge", "dead_letters").inc()
                Metrics.counter(METRIC_PREFIX + "judge", f"dead_{reason}").inc()
                yield beam.pvalue.TaggedOutput(DEAD_LETTERS, DeadLetter(
                    stage="judge", reason=reason, record_id=f"{request.prompt_id}/{tag['judge']}/{_about(tag)}",
                    payload=encode_payload({"judge": tag["judge"]}), error=response.error, run_id=self.run_id))
                continue
            try:
                parsed = response.extra["judgment"] if "judgment" in response.extra else parse_answer(
                    response, self.config)
                judged.append((tag, parsed))
            except JudgeParseError as exc:
                Metrics.counter(METRIC_PREFIX + "judge", "dead_letters").inc()
                Metrics.counter(METRIC_PREFIX + "judge", "dead_unparseable_judgment").inc()
                yield beam.pvalue.TaggedOutput(DEAD_LETTERS, DeadLetter(
                    stage="judge", reason="unparseable_judgment",
                    record_id=f"{request.prompt_id}/{tag['judge']}/{_about(tag)}",
                    payload=encode_payload({"judge": tag["judge"], "answer": response.text}),
                    error=str(exc), run_id=self.run_id))
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
            parsed = (answer_groups(groups, f"Judge[{spec.name}]", make_handler(spec, self.cache_path),
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
    orders: dict[tuple, dict[str, tuple[str, str]]] = {}
    for tag, (preferred, rationale) in judged:
        orders.setdefault((tag["judge"], tuple(tag["pair"])), {})[tag["order"]] = (preferred, rationale)
    comparisons = []
    for (judge, (a, b)), answers in sorted(orders.items()):
        if set(answers) != {"ab", "ba"}:
            continue  # one order could not be read: no comparison from this judge
        ab, ba = answers["ab"][0], answers["ba"][0]
        pick_ab = {"A": a, "B": b}.get(ab)  # in order ab, A is a
        pick_ba = {"A": b, "B": a}.get(ba)  # in order ba, A is b
        consistent = pick_ab == pick_ba
        # A flipped verdict keeps the first order's pick and is flagged: the pair becomes low-confidence.
        comparisons.append(Comparison(judge=judge, first_id=a, second_id=b, preferred_id=pick_ab,
                                      position_consistent=consistent, rationale=answers["ab"][1]))
    return pc.model_copy(update={"comparisons": pc.comparisons + comparisons})


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
