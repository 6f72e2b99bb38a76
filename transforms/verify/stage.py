"""Verify: a verifiable reward (Verdict) for every candidate, by the prompt's domain.

math -> `verify_math` against `reference.answer`; code -> `verify_code` against `reference.tests`, in the
sandbox; instruction -> `verify_instructions` against `reference.constraints`. Chat has no verifier: its
candidates get `passed=None, reason="no_verifier"` and are left to a judge, never counted as failures.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prefmill.schemas import Candidate, Prompt, PromptCandidates, Verdict
from prefmill.transforms.base import Reject, Stage
from prefmill.transforms.verify.code import verify_code
from prefmill.transforms.verify.instructions import verify_instructions
from prefmill.transforms.verify.math_answer import Fallback, verify_math
from prefmill.transforms.verify.sandbox import SandboxLimits, shared_sandbox
from prefmill.transforms.verify.symbolic import shared_checker


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


def _unverifiable(reason: str, verifier: str, evidence: str) -> Verdict:
    return Verdict(passed=None, score=0.0, reason=reason, verifier=verifier, evidence=evidence)


def verify_candidate(prompt: Prompt, candidate: Candidate, config: VerifyConfig) -> Verdict:
    reference = prompt.reference
    if prompt.domain == "math":
        if reference is None or not reference.answer:
            return _unverifiable("no_reference", "math", "math prompt without a reference answer")
        checker = shared_checker(config.math_timeout_s)
        return verify_math(candidate.text, reference.answer, fallback=config.math_fallback, checker=checker)
    if prompt.domain == "code":
        if reference is None or reference.tests is None:
            return _unverifiable("no_reference", "code", "code prompt without tests")
        sandbox = shared_sandbox(config.sandbox_workers or None, config.sandbox)
        return verify_code(candidate.text, reference.tests, sandbox=sandbox, limits=config.code_limits)
    if prompt.domain == "instruction":
        if reference is None or not reference.constraints:
            return _unverifiable("no_reference", "instructions", "instruction prompt without constraints")
        return verify_instructions(candidate.text, reference.constraints, prompt=prompt.question)
    return _unverifiable("no_verifier", "", f"no verifier for domain {prompt.domain}")


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
            self.counter(f"outcome:{pc.prompt.domain}:{candidate.model}:{outcome}").inc()  # pass rates for the report
            if verdict.reason == "sandbox_error":
                # The sandbox failed, not the program: the verdict stays empty (never a pair's rejected side)
                # and the candidate is recorded, so the loss is visible and a re-run can retry it.
                yield Reject("sandbox_error", error=verdict.evidence, record_id=candidate.id, payload=candidate)
            checked.append(candidate.model_copy(update={"verdict": verdict}))
        yield pc.model_copy(update={"candidates": checked})
