"""The run summary: rows in, out and dead-lettered per stage, time, and the dataset version written."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional

from pydantic import BaseModel, Field

from prefmill.transforms.base import METRIC_PREFIX


class StageCounts(BaseModel):
    name: str
    rows_in: int = 0
    rows_out: int = 0
    dead: int = 0
    emitted: int = 0
    dead_letters: int = 0
    reasons: dict[str, int] = Field(default_factory=dict)
    extra: dict[str, int] = Field(default_factory=dict)

    @property
    def merged(self) -> int:
        """Rows folded into another row's prompt (layouts with one response per row)."""
        return self.extra.get("merged", 0)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_out + self.dead + self.merged


PAIR_STAGES = ("annotate", "route")  # stages that count pairs, not prompts
INFRA_REASONS = {"timeout", "connection_error", "inference_error", "llm_error", "malformed_response", "unsupported_n",
                 "sandbox_error", "stage_error", "batch_failed", "batch_unfinished"}


def is_infrastructure(reason: str) -> bool:
    """A dead-letter reason that says the infrastructure failed, not the content (HTTP errors included)."""
    return reason in INFRA_REASONS or reason.startswith("http_")


class RunSummary(BaseModel):
    run_id: str
    config_hash: str
    uri: str
    runner: str
    seconds: float
    stages: list[StageCounts]
    pairs_written: int
    dead_letters_written: int
    chosen_chars: Optional[float] = None
    rejected_chars: Optional[float] = None
    pairs_version: Optional[int] = None
    dead_letters_version: Optional[int] = None
    recovered: bool = False
    code_sandbox: Optional[str] = None
    human_labels: Optional[dict[str, int]] = None  # carried from the previous version (overwrite mode)
    # seconds of each part of run_config: checks (paths, keys, runner), build (the Beam graph and the sandbox
    # check), job (Beam's run to its end), commit; and when it began (time.monotonic, system-wide on Linux)
    phases: dict[str, float] = Field(default_factory=dict)
    started_at: Optional[float] = None

    def infrastructure_loss(self) -> tuple[float, dict[str, int]]:
        """(share of prompts lost to infrastructure failures, the infrastructure reasons and counts).

        A stage's lost prompts count as infrastructure losses up to the number of its infrastructure dead
        letters (a prompt whose every request failed is dead-lettered as `no_candidates`, its requests as
        `connection_error`)."""
        reasons: dict[str, int] = {}
        lost = 0
        for stage in self.prompt_stages:
            infra = {r: n for r, n in stage.reasons.items() if is_infrastructure(r)}
            for reason, count in infra.items():
                reasons[reason] = reasons.get(reason, 0) + count
            lost += min(stage.dead, sum(infra.values()))
        return (lost / self.rows_in if self.rows_in else 0.0), reasons

    def stage(self, name: str) -> StageCounts:
        for stage in self.stages:
            if stage.name == name:
                return stage
        return StageCounts(name=name)

    @property
    def rows_in(self) -> int:
        return self.stages[0].rows_in if self.stages else 0

    @property
    def prompt_stages(self) -> list[StageCounts]:
        """Stages counted in prompts (annotate and route count pairs, after the prompts became pairs)."""
        return [s for s in self.stages if s.name not in PAIR_STAGES]

    @property
    def rows_out(self) -> int:
        stages = self.prompt_stages
        return stages[-1].rows_out if stages else 0

    @property
    def rows_dead(self) -> int:
        return sum(s.dead for s in self.prompt_stages)

    @property
    def rows_merged(self) -> int:
        return sum(s.merged for s in self.prompt_stages)

    @property
    def balanced(self) -> bool:
        """in = out + dead for every stage and for the run, and every row a stage put out reached the next one
        (stages that did not run are skipped; routing receives exactly the pairs emitted)."""
        ran = [s for s in self.prompt_stages if s.rows_in or s.rows_out or s.dead]
        handed_on = all(b.rows_in == a.rows_out for a, b in zip(ran, ran[1:]))
        # pairs: every pair emitted reaches the next pair stage that ran (annotate, then route)
        chain = [self.stage("pairs")] + [s for s in (self.stage(n) for n in PAIR_STAGES) if s.rows_in]
        paired_on = all(b.rows_in == a.emitted for a, b in zip(chain, chain[1:]))
        pair_stages = all(s.rows_in == s.rows_out + s.dead for s in chain[1:])
        accounted = self.rows_out + self.rows_dead + self.rows_merged
        return (self.rows_in == accounted and all(s.balanced for s in self.stages)
                and handed_on and paired_on and pair_stages)

    def render(self) -> str:
        head = f"{'stage':<10}{'in':>9}{'out':>9}{'dead':>9}{'emitted':>9}  dead-letter reasons"
        lines = [f"prefmill run {self.run_id}  ({self.runner}, {self.seconds:.1f}s, config {self.config_hash})", head]
        for s in self.stages:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.reasons.items())) or "-"
            lines.append(f"{s.name:<10}{s.rows_in:>9,}{s.rows_out:>9,}{s.dead:>9,}{s.emitted:>9,}  {reasons}")
        verdict = "balanced" if self.balanced else "NOT BALANCED: rows were lost, please report this"
        merged = f" + merged into their prompt {self.rows_merged:,}" if self.rows_merged else ""
        lines.append(f"rows in {self.rows_in:,} = rows out {self.rows_out:,} + dead-lettered {self.rows_dead:,}"
                     f"{merged} ({verdict})")
        # each LLM step (generation, self-edits, judges, tagger) counts its cache lookups under its own stage
        llm = [(s.name, s.extra.get("cache_hits", 0), s.extra.get("cache_misses", 0)) for s in self.stages]
        llm = [(name, h, m) for name, h, m in llm if h or m]
        if llm:
            hits, misses = sum(h for _, h, _ in llm), sum(m for _, _, m in llm)
            by_stage = ", ".join(f"{name} {h + m:,}" for name, h, m in llm)
            lines.append(f"LLM requests {hits + misses:,} ({by_stage}): cache hits {hits:,}, cache misses {misses:,}")
        settled = [(s.name, s.extra["concurrency"], s.extra.get("concurrency_backoffs", 0)) for s in self.stages
                   if s.extra.get("concurrency")]
        if any(backoffs for _, _, backoffs in settled):
            lines.append("adaptive concurrency: " + ", ".join(
                f"{name} settled at {limit:,} in flight after {backoffs:,} back-off(s)"
                for name, limit, backoffs in settled))
        lines += [batch_line(s.name, s.extra) for s in self.stages if s.extra.get("batch_submitted")
                  or s.extra.get("batch_resumed")]
        inject = self.stage("inject").extra
        if inject.get("edits_attempted"):
            kinds = ", ".join(f"{k[len('accepted_'):]} {v}" for k, v in sorted(inject.items())
                              if k.startswith("accepted_"))
            lines.append(f"self-edits attempted {inject['edits_attempted']:,}, accepted "
                         f"{inject.get('edits_accepted', 0):,} ({kinds or 'none'}); discarded by reason above")
        ratio, pairs = self.stage("density_ratio").extra, self.stage("pairs").extra
        if ratio.get("scores"):
            agree = [(source, pairs.get(f"density_ratio_agree_{source}", 0),
                      pairs.get(f"density_ratio_disagree_{source}", 0)) for source in ("verifier", "judge")]
            said = "; ".join(f"agrees with the {source} on {a:,} of {a + d:,} pairs both decided"
                             for source, a, d in agree if a + d) or "no pair was also decided by a verifier or judges"
            lines.append(f"density ratio: {ratio.get('ratios', 0):,} responses scored by both models; {said}")
        annotate = self.stage("annotate")
        if annotate.rows_in:
            done = [f"{k[len('flips_'):]} {v:,}" for k, v in sorted(annotate.extra.items()) if k.startswith("flips_")]
            if annotate.reasons.get("suspected_flip"):
                done.append(f"dropped {annotate.reasons['suspected_flip']:,}")
            flips = annotate.extra.get("suspected_flips", 0)
            lines.append(f"annotate: {annotate.rows_in:,} pairs, {annotate.extra.get('rationales', 0):,} LLM "
                         f"rationales; suspected label flips {flips:,}" + (f" ({', '.join(done)})" if done else ""))
        route = self.stage("route").extra
        if route:
            lines.append(f"routing: human {route.get('routed_human', 0):,}, ai {route.get('routed_ai', 0):,} "
                         f"(verifier-decided kept on ai: {route.get('routed_verifier_kept_ai', 0):,})")
        if self.human_labels and any(self.human_labels.values()):
            from prefmill.pipelines.carry_labels import describe

            lines.append(describe(self.human_labels))
        if self.code_sandbox == "unsafe_local":
            lines.append("code verdicts: UNSAFE_LOCAL sandbox (no operating-system boundary; every code verdict is "
                         "marked sandbox=unsafe_local)")
        lines.append(f"pairs written {self.pairs_written:,}; dead-letter rows {self.dead_letters_written:,}")
        if self.chosen_chars is not None and self.rejected_chars:
            lines.append(f"length bias: chosen {self.chosen_chars:,.0f} chars on average, rejected "
                         f"{self.rejected_chars:,.0f} (ratio {self.chosen_chars / self.rejected_chars:.2f})")
        lines.append(
            f"dataset {self.uri}: pairs version {self.pairs_version}, dead_letters version {self.dead_letters_version}"
        )
        return "\n".join(lines)


BATCH_STATES = ("completed", "failed", "expired", "cancelled")


def _dollars(micro: int) -> str:
    return f"${micro / 1e6:,.2f}" if micro >= 10_000 or micro == 0 else f"${micro / 1e6:.4f}"


def batch_line(stage: str, extra: dict[str, int]) -> str:
    """One stage's batch API work: the batches and how they ended, the wait, and the estimated cost.

    >>> print(batch_line("judge", {"batch_submitted": 2, "batch_completed": 1, "batch_expired": 1,
    ...     "batch_requests_submitted": 1200, "batch_requests_resubmitted": 200, "batch_wait_ms": 5_400_000,
    ...     "batch_cost_micro": 1_250_000, "batch_online_cost_micro": 2_500_000}))
    batch API (judge): 2 batch(es) submitted, 0 resumed; ended completed 1, expired 1; 1,200 requests submitted (200 of them again); waited 1h30m; estimated $1.25 at batch prices ($2.50 online)
    """
    ended = ", ".join(f"{state} {extra[f'batch_{state}']:,}" for state in BATCH_STATES
                      if extra.get(f"batch_{state}")) or "none yet"
    minutes = round(extra.get("batch_wait_ms", 0) / 60_000)
    waited = f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m" if minutes else \
        f"{extra.get('batch_wait_ms', 0) / 1000:.1f}s"
    line = (f"batch API ({stage}): {extra.get('batch_submitted', 0):,} batch(es) submitted, "
            f"{extra.get('batch_resumed', 0):,} resumed; ended {ended}; "
            f"{extra.get('batch_requests_submitted', 0):,} requests submitted "
            f"({extra.get('batch_requests_resubmitted', 0):,} of them again); waited {waited}")
    if extra.get("batch_malformed_lines"):
        line += f"; {extra['batch_malformed_lines']:,} unreadable result line(s)"
    if "batch_cost_micro" in extra or "batch_online_cost_micro" in extra:
        line += (f"; estimated {_dollars(extra.get('batch_cost_micro', 0))} at batch prices "
                 f"({_dollars(extra.get('batch_online_cost_micro', 0))} online)")
    else:
        line += "; no price in the config (the entry's price: input_per_mtok, output_per_mtok)"
    return line


def stage_counts(counters: dict[tuple[str, str], int], stage_names: tuple[str, ...]) -> list[StageCounts]:
    """Beam counters {(namespace, name): value} -> per-stage counts in pipeline order."""
    by_stage: dict[str, dict[str, int]] = defaultdict(dict)
    for (namespace, name), value in counters.items():
        if namespace.startswith(METRIC_PREFIX):
            by_stage[namespace[len(METRIC_PREFIX):]][name] = value
    out = []
    for name in stage_names:
        if name not in by_stage:
            continue  # a stage the config switched off
        c = by_stage[name]
        out.append(StageCounts(
            name=name,
            rows_in=c.get("in", 0),
            rows_out=c.get("out", 0),
            dead=c.get("dead", 0),
            emitted=c.get("emitted", 0),
            dead_letters=c.get("dead_letters", 0),
            reasons={k[len("dead_"):]: v for k, v in c.items() if k.startswith("dead_") and k != "dead_letters"},
            extra={k: v for k, v in c.items()
                   if k not in {"in", "out", "dead", "emitted", "dead_letters"} and not k.startswith("dead_")},
        ))
    return out


def counters_from_result(result: Any) -> dict[tuple[str, str], int]:
    """Sum committed Beam counters across steps (attempted where a runner has no committed values)."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for metric in result.metrics().query()["counters"]:
        key = (metric.key.metric.namespace, metric.key.metric.name)
        value = metric.committed if metric.committed is not None else metric.attempted
        totals[key] += int(value or 0)
    return dict(totals)
