"""RISE: error-injected self-editing. steps (splitting), edit (error types, rule editor, carry-forward),
validate (discard reasons), stage (the Beam stages, rule-based and LLM)."""

from prefmill.transforms.rise.edit import ERROR_TYPES, apply_rule, carry_forward, eligible_types, token_distance
from prefmill.transforms.rise.stage import InjectConfig, InjectErrors, LLMSelfEdit, AttachEdits, rule_edit
from prefmill.transforms.rise.steps import split_steps

__all__ = ["ERROR_TYPES", "AttachEdits", "InjectConfig", "InjectErrors", "LLMSelfEdit", "apply_rule",
           "carry_forward", "eligible_types", "rule_edit", "split_steps", "token_distance"]
