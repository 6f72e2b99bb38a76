"""Verifiers: pure functions that give a response a verifiable reward, and the Verify stage.

    from prefmill.transforms.verify import verify_math, verify_code, verify_instructions
"""

from prefmill.transforms.verify.code import extract_code, verify_code
from prefmill.transforms.verify.instructions import constraint_kinds, verify_instructions
from prefmill.transforms.verify.math_answer import answers_match, extract_answer, normalize_answer, verify_math
from prefmill.transforms.verify.sandbox import Sandbox, SandboxLimits, SandboxResult
from prefmill.transforms.verify.stage import Verify, VerifyConfig, verify_candidate

__all__ = [
    "Sandbox", "SandboxLimits", "SandboxResult", "Verify", "VerifyConfig", "answers_match", "constraint_kinds",
    "extract_answer", "extract_code", "normalize_answer", "verify_candidate", "verify_code",
    "verify_instructions", "verify_math",
]
