"""Assemble the Beam pipeline of a run from a validated config. Assembly only: every step lives in transforms/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import apache_beam as beam

from prefmill.pipelines.config import PrefmillConfig
from prefmill.schemas import ConfigError, DeadLetter, PreferencePair
from prefmill.transforms.base import MAIN, apply_stage
from prefmill.dataset import DatasetPaths
from prefmill.transforms.write import WriteManifest, WriteParts
from prefmill.dataset.layout import DEAD_LETTERS, PAIRS
from prefmill.transforms.generate import CheckCandidates, GenerateWithModels
from prefmill.transforms.annotate import AnnotatePairs, AttachAnnotations
from prefmill.transforms.density_ratio import AttachDensityRatios, ScoreDensityRatios
from prefmill.transforms.judge import AttachJudgments, JudgeCandidates
from prefmill.transforms.pairs import BuildPairs
from prefmill.transforms.read import DEDUPE_DEAD, PARSE_DEAD, ReadPrompts
from prefmill.transforms.rise import AttachEdits, InjectErrors, LLMSelfEdit
from prefmill.transforms.route import PerformanceModel, RoutePairs, route_staged_parts
from prefmill.transforms.verify import Verify

# Stage names in pipeline order; each is a Beam metrics namespace `prefmill.<name>`.
STAGES = ("read", "dedupe", "generate", "verify", "inject", "judge", "density_ratio", "pairs", "annotate", "route")


@dataclass(frozen=True)
class RunContext:
    run_id: str
    config_hash: str
    paths: DatasetPaths


def build_pipeline(pipeline: beam.Pipeline, config: PrefmillConfig, ctx: RunContext) -> None:
    run_id = ctx.run_id
    read = pipeline | "ReadPrompts" >> ReadPrompts(config.input, run_id)
    prompts, dead_letters = read[MAIN], [("read", read[PARSE_DEAD]), ("dedupe", read[DEDUPE_DEAD])]
    # One response cache for every LLM call of the run (generation, self-edits, judges, tagger); None = off.
    cache = config.generate.cache
    cache_path = (cache.path or ctx.paths.join("_prefmill", "cache")) if cache.enabled else None
    # Prompts are spread over the workers once, before the first LLM step (GenerateWithModels does it);
    # with recorded candidates, whichever LLM step comes first does it instead.
    spread = config.generate.mode == "recorded"
    if config.generate.mode != "recorded":
        sampled = prompts | "GenerateWithModels" >> GenerateWithModels(config.generate, cache_path, run_id)
        prompts = sampled["main"]
        dead_letters.append(("generate_llm", sampled["dead_letters"]))
    generated, generate_dead = apply_stage(prompts, "CheckCandidates", CheckCandidates(config.generate, run_id))
    verified, verify_dead = apply_stage(generated, "Verify", Verify(config.verify, run_id))
    stage_dead = [("generate", generate_dead), ("verify", verify_dead)]
    if config.inject.enabled:
        if config.inject.method == "rule":
            verified, inject_dead = apply_stage(verified, "InjectErrors", InjectErrors(config.inject, run_id))
        else:
            answered = verified | "LLMSelfEdit" >> LLMSelfEdit(config.inject, cache_path, spread=spread)
            spread = False
            verified, inject_dead = apply_stage(answered, "AttachEdits", AttachEdits(config.inject, run_id))
        stage_dead.append(("inject", inject_dead))
    if config.judge.enabled:
        judged = verified | "JudgeCandidates" >> JudgeCandidates(config.judge, cache_path, run_id, spread=spread)
        verified, judge_dead = apply_stage(judged["main"], "AttachJudgments", AttachJudgments(config.judge, run_id))
        stage_dead += [("judge_llm", judged["dead_letters"]), ("judge", judge_dead)]
        spread = False
    if config.density_ratio.enabled:
        if spread:
            verified = verified | "SpreadForScores" >> beam.Reshuffle()
        scored = verified | "ScoreDensityRatios" >> ScoreDensityRatios(config.density_ratio, cache_path, run_id)
        verified, ratio_dead = apply_stage(scored["main"], "AttachDensityRatios",
                                           AttachDensityRatios(config.density_ratio, run_id))
        stage_dead += [("density_ratio_llm", scored["dead_letters"]), ("density_ratio", ratio_dead)]
    pairs, pairs_dead = apply_stage(verified, "BuildPairs", BuildPairs(config.pairs, run_id, ctx.config_hash))
    if config.annotate.enabled:
        annotated = pairs | "AnnotatePairs" >> AnnotatePairs(config.annotate, cache_path, run_id)
        pairs, annotate_dead = apply_stage(annotated["main"], "AttachAnnotations",
                                           AttachAnnotations(config.annotate, run_id))
        stage_dead += [("annotate_llm", annotated["dead_letters"]), ("annotate", annotate_dead)]

    rows_per_file = config.output.rows_per_file
    pairs_table = ctx.paths.table(PAIRS)
    route_dead = []
    if config.route.enabled:
        routed = pairs | "RoutePairs" >> RoutePairs(config.route, _routing_model(config), run_id, cache_path)
        # pairs wait for the human set as staged Parquet parts, not in memory (see transforms/route/stage.py)
        staging = ctx.paths.staging(run_id, PAIRS)
        staged = routed["pairs"] | "StagePairs" >> WriteParts(staging, run_id, PreferencePair, rows_per_file)
        parts = route_staged_parts(staged, staging, pairs_table, routed["human"])
        route_dead.append(("route", routed[DEAD_LETTERS]))
    else:
        parts = pairs | "WritePairs" >> WriteParts(pairs_table, run_id, PreferencePair, rows_per_file)
    _ = parts | "PairsManifest" >> WriteManifest(ctx.paths.manifest(run_id, PAIRS))

    # Each stage's dead letters are written where they arise and only the part lists are merged: a Flatten
    # of the records themselves can make a local runner hold them all in memory between stages.
    dead_table = ctx.paths.table(DEAD_LETTERS)
    dead_parts = [
        source | f"WriteDeadLetters[{name}]" >> WriteParts(dead_table, run_id, DeadLetter, rows_per_file)
        for name, source in (*dead_letters, *stage_dead, ("pairs", pairs_dead), *route_dead)
    ]
    _ = (dead_parts | "DeadLetterParts" >> beam.Flatten()
         | "DeadLettersManifest" >> WriteManifest(ctx.paths.manifest(run_id, DEAD_LETTERS)))


def _routing_model(config: PrefmillConfig) -> Optional[PerformanceModel]:
    if not config.route.model_path:
        return None
    try:
        with open(config.route.model_path, encoding="utf-8") as handle:
            return PerformanceModel.from_json(handle.read())
    except FileNotFoundError:
        raise ConfigError(f"route.model_path: no file at {config.route.model_path}; fit one with "
                          "`prefmill route fit EXPERIMENTS --out PATH`") from None
