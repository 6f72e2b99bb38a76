"""The `judge:` section of the config."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prefmill.transforms.judge.pairwise import PAIRWISE_TEMPLATE
from prefmill.transforms.judge.ultrafeedback import ASPECTS, LISTWISE_TEMPLATE, POINTWISE_TEMPLATE, RUBRIC
from prefmill.transforms.llm.registry import ModelSpec
from prefmill.transforms.verify.registry import KnownDomain


class JudgeConfig(BaseModel):
    """LLM judges for judged pairs."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="rate candidates with LLM judges")
    mode: Literal["pointwise", "listwise", "pairwise"] = Field(
        "pointwise", description="ratings per response, all responses rated in one call, or A/B preferences")
    models: list[ModelSpec] = Field(default_factory=list, description="one or more judge models")
    domains: list[KnownDomain] = Field(
        default_factory=lambda: ["chat"], description="domains to judge (verifiers decide the others)")
    aspects: list[str] = Field(default_factory=lambda: list(ASPECTS), description="rated aspects (pointwise)")
    rubric: str = Field(RUBRIC, description="the rating rubric, {rubric} in the pointwise template")
    pointwise_template: str = Field(POINTWISE_TEMPLATE, description="{rubric} {question} {response} {aspects}")
    pairwise_template: str = Field(PAIRWISE_TEMPLATE, description="{question} {first} {second}")
    listwise_template: str = Field(LISTWISE_TEMPLATE, description="{rubric} {question} {responses} {aspects}")
