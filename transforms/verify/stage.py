"""Verify: a verifiable reward (Verdict) for every candidate, by its prompt's domain's verifier.

The verifiers are a registry (registry.py): math -> `verify_math` against `reference.answer`; code ->
`verify_code` against `reference.tests`, in the sandbox; instruction -> `verify_instructions` against
`reference.constraints`. Chat has no verifier: its candidates get `passed=None, reason="no_verifier"` and
are left to a judge, never counted as failures.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import Candidate, Prompt, PromptCandidates, Verdict
from prefmill.transforms.base import Reject, Stage
from prefmill.transforms.verify.math_answer import Fallback
from prefmill.transforms.verify.sandbox import SandboxLimits


OUTCOME = "outcome "


def outcome_key(domain: str, model: str, outcome: str) -> str:
    """A counter name that carries (domain, model, outcome) as JSON, so any model name survives the trip to
    the report (colons included).

    >>> outcome_key("math", "ollama/qwen2:7b", "pass")
    'outcome ["math", "ollama/qwen2:7b", "pass"]'
    """
    return OUTCOME + json.dumps([domain, model, outcome], ensure_ascii=False)


def unverifiable(reason: str, verifier: str, evidence: str) -> Verdict:
    return Verdict(passed=None, score=0.0, reason=reason, verifier=verifier, evidence=evidence)


class VerifyConfig(BaseModel):
    """Which verifiers run, and how."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="run verifiers; off leaves every verdict empty")
    math_fallback: Fallback = Field(
        "last_number", description="when no boxed/####/'answer is' answer is found: take the last number, or none"
    )
    math_timeout_s: float = Field(5.0, gt=0, description="time limit of one Math-Verify comparison (its own default)")
    code_limits: SandboxLimits = Field(default_factory=SandboxLimits, description="limits of each sandboxed run")
    sandbox_workers: int = Field(0, ge=0, description="sandbox processes per Beam worker; 0 = one per core")
    sandbox: Literal["bwrap", "unsafe_local"] = Field(
        "bwrap", description="code sandbox boundary: bubblewrap namespaces (required), or unsafe_local to run "
        "model code without an OS boundary (marked on every verdict and in the run summary)")


def verify_candidate(prompt: Prompt, candidate: Candidate, config: VerifyConfig) -> Verdict:
    """The verdict of the prompt's domain's verifier (registry.py); no verifier, or no reference to check
    against, gives `passed=None` with the reason, never a failure."""
    from prefmill.transforms.verify.registry import VERIFIERS

    verifier = VERIFIERS.get(prompt.domain)
    if verifier is None:
        return unverifiable("no_verifier", "", f"no verifier for domain {prompt.domain}")
    if prompt.reference is None or not verifier.has_reference(prompt.reference):
        return unverifiable("no_reference", verifier.name, f"{prompt.domain} prompt without {verifier.reference}")
    return verifier.check(prompt, candidate, config)


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
            self.counter(f"verdict_{verdict.verifier or 'none'}_{verdict.reason}").inc()
            outcome = "none" if verdict.passed is None else "pass" if verdict.passed else "fail"
            self.counter(outcome_key(pc.prompt.domain, candidate.model, outcome)).inc()  # pass rates for the report
            if verdict.reason == "sandbox_error":
                # The sandbox failed, not the program: the verdict stays empty (never a pair's rejected side)
                # and the candidate is recorded, so the loss is visible and a re-run can retry it.
                yield Reject("sandbox_error", error=verdict.evidence, record_id=candidate.id, payload=candidate)
            checked.append(candidate.model_copy(update={"verdict": verdict}))
        yield pc.model_copy(update={"candidates": checked})
