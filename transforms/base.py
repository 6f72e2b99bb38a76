"""Bookkeeping shared by every stage: counters, dead letters and progress.

A concrete stage subclasses `Stage` and implements one hook, `handle(element)`, yielding its outputs and,
for anything it cannot process, `Reject(reason=...)`. The base class turns rejects into `DeadLetter`
records on the `dead_letters` side output and counts everything under the Beam metrics namespace
`prefmill.<stage>`:

- `in`: elements received; `out`: elements that produced at least one output; `dead`: elements that
  produced none (all rejected). For every stage, in = out + dead.
- `emitted`: output records (a prompt can yield several pairs); `dead_letters`: rows written to the
  dead-letter table (a prompt can lose one candidate and still go on); `dead_<reason>`: per reason code.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics
from pydantic import BaseModel

from prefmill.schemas import DeadLetter
from prefmill.transforms.progress import BOARD

DEAD_LETTERS = "dead_letters"
MAIN = "main"
METRIC_PREFIX = "prefmill."


@dataclass
class Reject:
    """A record a stage could not process. `reason` is a short snake_case code, counted and stored."""

    reason: str
    error: str = ""
    record_id: str | None = None
    payload: Any = None


def encode_payload(payload: Any) -> str:
    """The original record as text for the dead-letter table; never raises.

    >>> encode_payload({"a": 1})
    '{"a": 1}'
    >>> encode_payload(b"caf\\xe9")
    'caf\\\\xe9'
    """
    if payload is None:
        return ""
    if isinstance(payload, BaseModel):
        return payload.model_dump_json()
    if isinstance(payload, bytes):
        return payload.decode("utf-8", errors="backslashreplace")
    if isinstance(payload, str):
        return payload
    try:
        return json.dumps(payload, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(payload)


def count(stage: str, name: str, n: int = 1) -> None:
    """Bump counter `name` of `stage` (`prefmill.<stage>`), for work counted outside a Stage's `handle`."""
    Metrics.counter(METRIC_PREFIX + stage, name).inc(n)


def dead_letter(stage: str, reason: str, *, record_id: str | None, payload: Any, error: str,
                run_id: str) -> beam.pvalue.TaggedOutput:
    """A dead letter written outside a Stage's `handle` (an LLM step's failed request, a judgment that cannot
    be read), counted as the Stage base counts its rejects (`dead_letters`, `dead_<reason>`)."""
    count(stage, "dead_letters")
    count(stage, f"dead_{reason}")
    return beam.pvalue.TaggedOutput(DEAD_LETTERS, DeadLetter(
        stage=stage, reason=reason, record_id=record_id, payload=encode_payload(payload), error=error, run_id=run_id))


class Stage(beam.DoFn):
    """Base DoFn of every stage. Subclasses set `name` and implement `handle`."""

    name = "stage"

    def __init__(self, run_id: str = "") -> None:
        super().__init__()
        self.run_id = run_id
        self._counters: dict[str, Any] = {}

    def counter(self, name: str):
        counter = self._counters.get(name)
        if counter is None:
            counter = self._counters[name] = Metrics.counter(METRIC_PREFIX + self.name, name)
        return counter

    def handle(self, element: Any) -> Iterable[Any]:
        raise NotImplementedError

    def record_id(self, element: Any) -> str | None:
        """The id stored with a dead letter when a reject does not name one."""
        return getattr(element, "id", None)

    def dead_letter(self, reject: Reject, element: Any) -> DeadLetter:
        return DeadLetter(
            stage=self.name,
            reason=reject.reason,
            record_id=reject.record_id if reject.record_id is not None else self.record_id(element),
            payload=encode_payload(reject.payload if reject.payload is not None else element),
            error=reject.error,
            run_id=self.run_id,
        )

    def process(self, element: Any) -> Iterator[Any]:
        self.counter("in").inc()
        BOARD.bump(self.name)
        produced = 0
        try:
            results = list(self.handle(element))
        except Exception as exc:  # noqa: BLE001 - one bad record must not fail the job; it is kept, with its error
            results = [Reject("stage_error", error=_short_traceback(exc))]
        for result in results:
            if isinstance(result, Reject):
                self.counter("dead_letters").inc()
                self.counter(f"dead_{result.reason}").inc()
                yield beam.pvalue.TaggedOutput(DEAD_LETTERS, self.dead_letter(result, element))
            else:
                produced += not isinstance(result, beam.pvalue.TaggedOutput)  # side outputs are not records out
                yield result
        self.counter("emitted").inc(produced)
        self.counter("out" if produced else "dead").inc()


def _short_traceback(exc: BaseException) -> str:
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(frames[-3:])[-2000:]


def apply_stage(pcoll, label: str, stage: Stage):
    """Apply a stage and return (main output, dead letters)."""
    results = pcoll | label >> beam.ParDo(stage).with_outputs(DEAD_LETTERS, main=MAIN)
    return results[MAIN], results[DEAD_LETTERS]
