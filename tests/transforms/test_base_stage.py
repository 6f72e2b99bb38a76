"""The base stage's safety net, on a real Beam runner: an exception inside one record's handling becomes a
`stage_error` dead letter with the traceback tail, the record's partial outputs are dropped, the other
records go on, and the counters balance (in = out + dead)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from prefmill.transforms.base import Reject, Stage, apply_stage


class Picky(Stage):
    name = "picky"

    def record_id(self, element):
        return f"n{element}"

    def handle(self, element):
        if element % 5 == 0:
            yield element * 10  # a partial output, then the crash: neither may leave the stage as a pair
            raise ZeroDivisionError(f"cannot take {element}")
        if element % 3 == 0:
            yield Reject("not_wanted", error=f"{element} is a multiple of 3")
            return
        yield element
        yield element + 1000


def test_an_exception_is_a_stage_error_dead_letter_and_the_rest_goes_on():
    from apache_beam.testing.util import assert_that, equal_to

    pipeline = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions([]))
    outputs, dead = apply_stage(pipeline | beam.Create(list(range(1, 16))), "Picky", Picky(run_id="r1"))
    kept = [n for n in range(1, 16) if n % 5 and n % 3]
    # a crashed record's partial output (50, 100, 150) never leaves the stage
    assert_that(outputs, equal_to(kept + [n + 1000 for n in kept]), label="Outputs")
    letters = dead | beam.Map(lambda d: (d.reason, d.record_id, d.run_id,
                                         "ZeroDivisionError: cannot take" in d.error))
    expected = [("stage_error", f"n{n}", "r1", True) for n in (5, 10, 15)]
    expected += [("not_wanted", f"n{n}", "r1", False) for n in (3, 6, 9, 12)]
    assert_that(letters, equal_to(expected), label="DeadLetters")
    result = pipeline.run()
    result.wait_until_finish()

    counters = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]
                if c.key.metric.namespace == "prefmill.picky"}
    assert counters["in"] == 15 and counters["out"] == len(kept) and counters["dead"] == 15 - len(kept)
    assert counters["dead_stage_error"] == 3 and counters["dead_not_wanted"] == 4
    assert counters["emitted"] == 2 * len(kept)
