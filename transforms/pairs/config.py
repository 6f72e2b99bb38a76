"""The `pairs:` section of the config: which strategies run, and each one's settings."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from prefmill.transforms.verify.registry import KnownDomain


class PairsConfig(BaseModel):
    """How chosen/rejected pairs are formed."""

    model_config = ConfigDict(extra="forbid")

    strategies: list[str] = Field(
        default_factory=lambda: ["verified"],
        description="pair strategies to apply (see registry.py): verified, self_edit, judged, delta, density_ratio")
    max_pairs_per_prompt: int = Field(2, gt=0, description="at most this many pairs per prompt")
    min_density_margin: float = Field(
        0.0, ge=0.0, description="density_ratio: minimum chosen - rejected log-density ratio (0: any gap)")
    min_score_gap: float = Field(
        0.25, ge=0.0, le=1.0,
        description="verified: minimum chosen - rejected score (code and instruction scores are fractions passed)")
    verified_graded: bool = Field(
        False, description="verified: a candidate passing more tests (constraints) beats one passing fewer, by "
                           "min_score_gap, even when neither passes all (code and instruction)")
    seed: int = Field(0, description="seed of every random choice")
    verifier_rationale: bool = Field(True, description="write a verifier-grounded rationale on verified pairs")
    self_edit_granularity: list[Literal["solution", "step"]] = Field(
        default_factory=lambda: ["solution", "step"],
        description="self_edit: full-solution pairs, step-level pairs (Step-DPO), or both")
    judged_rejected: Literal["random", "lowest"] = Field(
        "random", description="judged (pointwise): the rejected side is a random other candidate or the lowest rated")
    min_rating_margin: float = Field(0.5, ge=0.0, description="judged: minimum mean-rating gap (1-5 scale)")
    judge_rationale_template: str = Field(
        "Judged by {judges}: mean rating {chosen_mean:.2f} vs {rejected_mean:.2f}. Chosen: {chosen_rationale} "
        "Rejected: {rejected_rationale}", description="judged pairs' rationale, from the judges' own words")
    delta_domains: Optional[list[KnownDomain]] = Field(
        None, description="delta: domains it applies to (unset: every domain)")
    model_strength: list[str] = Field(
        default_factory=list, description="delta: model names, strongest first (Delta Learning)")
    max_length_ratio: Optional[float] = Field(
        None, gt=1.0, description="drop pairs whose longer side is more than this times the shorter (length bias)")
    sampled_per_self_edit: Optional[float] = Field(
        1.0, ge=0, description="with self_edit: verified pairs kept per self-edit solution pair (RISE uses 1); "
                               "null keeps max_pairs_per_prompt")


    @field_validator("strategies")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        from prefmill.transforms.pairs.registry import STRATEGIES

        unknown = [n for n in names if n not in STRATEGIES]
        if unknown:
            raise ValueError(f"unknown pair strategy {unknown}; known: {', '.join(STRATEGIES)}")
        return names
