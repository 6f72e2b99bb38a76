"""Verifiers: pure functions that give a response a verifiable reward, and the Verify stage."""

from prefmill.transforms.verify.math_answer import answers_match, extract_answer, normalize_answer, verify_math
from prefmill.transforms.verify.stage import Verify, VerifyConfig, verify_candidate

__all__ = [
    "Verify", "VerifyConfig", "answers_match", "extract_answer", "normalize_answer", "verify_candidate",
    "verify_math",
]
