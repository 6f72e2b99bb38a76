"""Verify: a verifiable reward (Verdict) for every candidate, by the prompt's domain.

math -> `verify_math` against `reference.answer`. Domains without a verifier in this build (code,
instruction, chat) get `passed=None, reason="no_verifier"`: nothing is claimed, and the pair stage
treats them as unverified rather than as failures.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import Candidate, Prompt, PromptCandidates, Verdict
from prefmill.transforms.base import Stage
from prefmill.transforms.verify.math_answer import Fallback, verify_math


class VerifyConfig(BaseModel):
    """Which verifiers run, and how."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="run verifiers; off leaves every verdict empty")
    math_fallback: Fallback = Field(
        "last_number", description="when no boxed/####/'answer is' answer is found: take the last number, or none"
    )


def verify_candidate(prompt: Prompt, candidate: Candidate, config: VerifyConfig) -> Verdict:
    reference = prompt.reference
    if prompt.domain == "math":
        if reference is None or not reference.answer:
            return Verdict(passed=None, score=0.0, reason="no_reference", verifier="math",
                           evidence="math prompt without a reference answer")
        return verify_math(candidate.text, reference.answer, fallback=config.math_fallback)
    return Verdict(passed=None, score=0.0, reason="no_verifier", verifier="",
                   evidence=f"no verifier for domain {prompt.domain} in this build")


class Verify(Stage):
    name = "verify"

    def __init__(self, config: VerifyConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config

    def record_id(self, element: PromptCandidates) -> str:
        return element.prompt.id

    def handle(self, pc: PromptCandidates):
        if not self.config.enabled:
            yield pc
            return
        checked = []
        for candidate in pc.candidates:
            verdict = verify_candidate(pc.prompt, candidate, self.config)
            self.counter(f"verdict_{verdict.reason}").inc()
            checked.append(candidate.model_copy(update={"verdict": verdict}))
        yield pc.model_copy(update={"candidates": checked})
