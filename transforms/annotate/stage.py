"""The annotate stage: each pair goes to every annotator as one request group (its blind comparisons in both
orders, and, from the first annotator, the rationale for the pair's label), the answers come back beside
the pair, and `AttachAnnotations` writes the rationale, the strength and the votes on it and decides what
a suspected label flip becomes. An answer that cannot be read is asked once more with a reminder, then
becomes a dead letter with the raw text (`unparseable_annotation`); a failed request a dead letter with
its reason. Neither loses the pair: it keeps its template rationale, and fewer votes.
"""

from __future__ import annotations

from typing import Optional

import apache_beam as beam

from prefmill.schemas import Annotation, PreferencePair
from prefmill.transforms.annotate.config import AnnotateConfig
from prefmill.transforms.annotate.noise import flipped, summarize, vote_of
from prefmill.transforms.annotate.prompts import (
    BLIND_SCHEMA, RATIONALE_SCHEMA, RETRY_REMINDER, AnswerError, blind_text, parse_blind, parse_rationale,
    rationale_text,
)
from prefmill.transforms.base import DEAD_LETTERS, Reject, Stage, count, dead_letter
from prefmill.transforms.llm.inference import answer_groups, failure_reason
from prefmill.transforms.llm.registry import ModelSpec, make_handler
from prefmill.transforms.llm.requests import LLMRequest, LLMResponse, RequestGroup


def annotate_requests(pair: PreferencePair, config: AnnotateConfig, spec: ModelSpec,
                      first: bool) -> list[LLMRequest]:
    requests = []
    if config.blind_check:
        params = spec.sampling.model_copy(update={"json_schema": BLIND_SCHEMA})
        for order in ("ab", "ba"):
            requests.append(LLMRequest(
                prompt_id=pair.prompt_id, model=spec.name, params=params,
                messages=[{"role": "user", "content": blind_text(pair, config.blind_template, order)}],
                tag={"kind": "blind", "order": order, "annotator": spec.name, "attempt": 0}))
    if first and config.rationale:
        params = spec.sampling.model_copy(update={"json_schema": RATIONALE_SCHEMA})
        requests.append(LLMRequest(
            prompt_id=pair.prompt_id, model=spec.name, params=params,
            messages=[{"role": "user", "content": rationale_text(pair, config.rationale_template)}],
            tag={"kind": "rationale", "annotator": spec.name, "attempt": 0}))
    return requests


def read(response: LLMResponse):
    """What one answer says: a -3..3 preference (blind) or (rationale, strength, justification)."""
    kind = response.request.tag["kind"]
    return parse_blind(response.text) if kind == "blind" else parse_rationale(response.text)


class SecondTry:
    """An answer that cannot be read is asked again once, with a reminder (a new cache key)."""

    def __call__(self, response: LLMResponse) -> Optional[LLMRequest]:
        tag = response.request.tag
        if tag["attempt"] != 0 or not response.ok:
            return None
        try:
            response.extra["read"] = read(response)
            return None
        except AnswerError:
            count("annotate", "retries")
            messages = [dict(m) for m in response.request.messages]
            messages[-1]["content"] += RETRY_REMINDER
            request = response.request
            return LLMRequest(prompt_id=request.prompt_id, model=request.model, messages=messages,
                              params=request.params, sample_index=1, tag={**tag, "attempt": 1})


class _Collect(beam.DoFn):
    """An answered group -> (pair, answers so far + these); unreadable or failed answers are dead letters."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def process(self, group: RequestGroup):
        pair, answers = group.owner
        answers = list(answers)
        for response in group.responses:
            tag = response.request.tag
            about = f"{pair.id}/{tag['annotator']}/{tag['kind']}{'-' + tag['order'] if 'order' in tag else ''}"
            count("annotate", "answers")
            if not response.ok:
                yield dead_letter("annotate", failure_reason(response), record_id=about,
                                  payload={"annotator": tag["annotator"]}, error=response.error or "no answer",
                                  run_id=self.run_id)
                continue
            try:
                answers.append((tag, response.extra["read"] if "read" in response.extra else read(response)))
            except AnswerError as exc:
                yield dead_letter("annotate", "unparseable_annotation", record_id=about,
                                  payload={"annotator": tag["annotator"], "answer": response.text}, error=str(exc),
                                  run_id=self.run_id)
        yield pair, answers


class AnnotatePairs(beam.PTransform):
    """PreferencePair -> (PreferencePair, [(tag, answer)]) through every annotator in turn, and dead letters."""

    def __init__(self, config: AnnotateConfig, cache_path: Optional[str], run_id: str = "") -> None:
        super().__init__()
        self.config = config
        self.cache_path = cache_path
        self.run_id = run_id

    def expand(self, pairs):
        config, dead = self.config, []
        current = pairs | "StartAnnotations" >> beam.Map(lambda pair: (pair, []))
        for index, spec in enumerate(config.models):
            groups = current | f"AnnotateRequests[{spec.name}]" >> beam.Map(
                lambda item, s=spec, first=index == 0: RequestGroup(item, annotate_requests(item[0], config, s, first)))
            handler = make_handler(spec, self.cache_path, stage="annotate")
            collected = (answer_groups(groups, f"Annotate[{spec.name}]", handler, second_try=SecondTry())
                         | f"CollectAnnotations[{spec.name}]" >> beam.ParDo(_Collect(self.run_id)).with_outputs(
                             DEAD_LETTERS, main="ok"))
            current = collected.ok
            dead.append(collected[DEAD_LETTERS])
        return {"main": current, "dead_letters": dead | "AnnotateDeadLetters" >> beam.Flatten()}


def annotate(pair: PreferencePair, answers: list, config: AnnotateConfig) -> PreferencePair:
    """The pair with its LLM rationale and strength (when written) and its votes and noise verdict."""
    blind: dict[str, dict[str, int]] = {}
    written = None
    for tag, answer in answers:
        if tag["kind"] == "blind":
            blind.setdefault(tag["annotator"], {})[tag["order"]] = answer
        else:
            written = (tag["annotator"], *answer)
    votes = [v for v in (vote_of(name, orders.get("ab"), orders.get("ba")) for name, orders in blind.items()) if v]
    base = pair.annotation or Annotation(rationale_source="template")
    update: dict = {}
    if written is not None:
        model, rationale, strength, justification = written
        grounded = bool(pair.error_edit is not None or pair.label_source == "verifier"
                        or base.rationale_source == "incoming")
        base = base.model_copy(update={"rationale_source": "llm", "model": model, "grounded": grounded,
                                       "prompt_version": config.prompt_version,
                                       "strength_justification": justification or None})
        update = {"rationale": rationale, "strength": strength}
    return pair.model_copy(update={**update, "annotation": summarize(votes, base, config.noise)})


class AttachAnnotations(Stage):
    """The per-pair accounting of annotation, and what a suspected flip becomes (`annotate.noise.action`)."""

    name = "annotate"

    def __init__(self, config: AnnotateConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config

    def record_id(self, element) -> Optional[str]:
        return element[0].id

    def handle(self, element):
        pair, answers = element
        pair = annotate(pair, answers, self.config)
        if pair.annotation.rationale_source == "llm":
            self.counter("rationales").inc()
        if not pair.annotation.suspected_flip:
            yield pair
            return
        self.counter("suspected_flips").inc()
        action = self.config.noise.action
        note = pair.annotation
        said = (f"{len(note.votes)} vote(s), mean margin {note.mean_margin:.2f} (spread {note.margin_spread:.2f}) "
                "against the label")
        if action == "drop":
            yield Reject("suspected_flip", error=said, record_id=pair.id, payload=pair)
            return
        self.counter(f"flips_{action}").inc()
        if action == "flip":
            yield flipped(pair)
            return
        yield pair.model_copy(update={"annotation": note.model_copy(
            update={"action": "kept" if action == "flag" else "human_first"})})
