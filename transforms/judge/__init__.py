"""LLM judges: UltraFeedback-style ratings (ultrafeedback.py), pairwise preferences in both orders
(pairwise.py), and the Beam stage that asks them (stage.py)."""

from prefmill.transforms.judge.answers import RETRY_REMINDER, JudgeParseError
from prefmill.transforms.judge.config import JudgeConfig
from prefmill.transforms.judge.pairwise import PAIRWISE_TEMPLATE, comparisons_of, parse_pairwise
from prefmill.transforms.judge.stage import (
    AttachJudgments, JudgeCandidates, SecondTry, combine, judge_requests, parse_answer, retry_request,
)
from prefmill.transforms.judge.ultrafeedback import (
    ASPECTS, LISTWISE_TEMPLATE, POINTWISE_TEMPLATE, RUBRIC, parse_listwise, parse_pointwise,
)

__all__ = ["ASPECTS", "LISTWISE_TEMPLATE", "PAIRWISE_TEMPLATE", "POINTWISE_TEMPLATE", "RETRY_REMINDER", "RUBRIC",
           "AttachJudgments", "JudgeCandidates", "JudgeConfig", "JudgeParseError", "SecondTry", "combine",
           "comparisons_of", "judge_requests", "parse_answer", "parse_listwise", "parse_pairwise", "parse_pointwise",
           "retry_request"]
