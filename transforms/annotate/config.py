"""Settings of the annotate stage: the annotators, the prompts, and what to do with a suspected label flip."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prefmill.transforms.annotate.prompts import BLIND_TEMPLATE, PROMPT_VERSION, RATIONALE_TEMPLATE
from prefmill.transforms.llm.registry import ModelSpec


class NoiseConfig(BaseModel):
    """Label noise: the annotators' blind votes against the pair's label (Secrets of RLHF Part II: the mean
    and spread of the preference margin across models)."""

    model_config = ConfigDict(extra="forbid")

    min_votes: int = Field(2, ge=1, description="LLM votes a pair needs before it can be flagged")
    flip_margin: float = Field(0.5, gt=0, le=3, description="flag when the mean margin is at most -flip_margin "
                                                             "(-3..3 scale; + agrees with the label)")
    max_spread: float = Field(2.0, ge=0, description="... and the votes' standard deviation at most this "
                                                     "(defaults chosen with bench/label_noise.py)")
    action: Literal["flag", "drop", "flip", "human_first"] = Field(
        "flag", description="flag: keep and mark | drop: dead letter suspected_flip | flip: swap chosen and "
                            "rejected | human_first: to humans before the rest, under route.budget")


class AnnotateConfig(BaseModel):
    """LLM annotation of pairs: a written rationale and a strength (RDPO, HelpSteer2-Preference), blind
    votes in both orders, and label-noise flags."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="annotate every pair with the models below")
    models: list[ModelSpec] = Field(default_factory=list,
                                    description="annotators (structured output): the first writes rationales, "
                                                "all vote")
    rationale: bool = Field(True, description="write a rationale and strength for each pair's label")
    blind_check: bool = Field(True, description="each annotator predicts the better response, unlabelled, "
                                                "in both orders")
    noise: NoiseConfig = Field(default_factory=NoiseConfig)
    rationale_template: str = Field(RATIONALE_TEMPLATE, description="{prompt} {chosen} {rejected} {evidence}")
    blind_template: str = Field(BLIND_TEMPLATE, description="{prompt} {first} {second}")
    prompt_version: str = Field(PROMPT_VERSION, description="stored with each rationale (change it with a template)")
