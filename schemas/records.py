"""The record contract between stages.

Every stage reads and writes these models; the Arrow schemas of the dataset tables are derived from them
(see `prefmill.schemas.arrow`), so a column is declared once, here. Column names follow TRL's
conversational preference format (`prompt`, `chosen`, `rejected` as message lists, `margin`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from prefmill.schemas.redact import redact

# Bump when a column is added, removed or changes meaning; stored in the commit metadata of every version.
SCHEMA_VERSION = "4"  # 2: pairs.granularity; 3: pairs.judge (judges, agreement, position bias); 4: pairs.annotation

# chat, or the domain of a verifier in `transforms/verify/registry.py` (built in: math, code, instruction);
# the reader refuses a name that is neither, so a new domain is its verifier's file and registry line
Domain = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Role = Literal["system", "user", "assistant", "tool"]
# the strategy that made a pair: verified, self_edit, judged, delta, or a plugin strategy's own name
PairSource = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
LabelSource = Literal["verifier", "ai", "human", "unknown"]  # unknown: an incoming label whose origin is not known
IncomingSource = Literal["human", "ai", "unknown"]


class Record(BaseModel):
    """Base of every record: unknown keys are errors, values are validated on assignment, and a copy with
    changes (`model_copy(update=...)`) validates each changed field, as assignment does (pydantic's own
    `model_copy` would keep a pair with strength 9)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def model_copy(self, *, update: Optional[dict[str, Any]] = None, deep: bool = False):
        copy = super().model_copy(deep=deep)
        for name, value in (update or {}).items():
            setattr(copy, name, value)  # validate_assignment: the field's checks, then the model's validators
        return copy


def stable_id(*parts: object) -> str:
    """A short, stable hash of the parts; the same parts always give the same id.

    >>> stable_id("p1", "model-a", 0) == stable_id("p1", "model-a", 0)
    True
    >>> len(stable_id("x"))
    24
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return digest[:24]


class Message(Record):
    role: Role
    content: str


class StdioCase(Record):
    """One stdin/stdout test of a program."""

    input: str = ""
    output: str


class CodeTests(Record):
    """Unit tests of a code prompt, as stored in its reference."""

    asserts: list[str] = Field(default_factory=list, description="assert statements or test functions")
    stdio: list[StdioCase] = Field(default_factory=list, description="stdin -> expected stdout cases")
    entry_point: Optional[str] = Field(None, description="function the tests call, when there is one")


class Constraint(Record):
    """One verifiable instruction constraint: a kind and its arguments (IFEval style)."""

    kind: str
    args: dict[str, Any] = Field(default_factory=dict)


class Reference(Record):
    """What a verifier checks a response against. All parts are optional; chat prompts have none."""

    answer: Optional[str] = None
    tests: Optional[CodeTests] = None
    constraints: Optional[list[Constraint]] = None


class Prompt(Record):
    id: str
    messages: list[Message]
    domain: Domain = "chat"
    reference: Optional[Reference] = None
    source: Optional[str] = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("messages")
    @classmethod
    def _has_user_turn(cls, messages: list[Message]) -> list[Message]:
        if not messages:
            raise ValueError("a prompt needs at least one message")
        if not any(m.role == "user" and m.content.strip() for m in messages):
            raise ValueError("a prompt needs a non-empty user message")
        return messages

    @property
    def question(self) -> str:
        """The last user turn: what verifiers, editors and judges read as 'the question'."""
        return next(m.content for m in reversed(self.messages) if m.role == "user")


class TokenUsage(Record):
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None


class Verdict(Record):
    """The verifiable reward of one response.

    `passed` is None when nothing could be checked (no reference, no verifier for the domain).
    """

    passed: Optional[bool]
    score: float = Field(ge=0.0, le=1.0)
    reason: str = Field(description="reason code, e.g. correct, wrong_answer, no_answer, unverifiable")
    evidence: str = ""
    verifier: str = ""
    extracted: Optional[str] = None
    expected: Optional[str] = None
    policy: str = Field("", description="how the verifier was run: its version, extraction policy or sandbox mode")
    rule: str = Field("", description="the rule that decided, e.g. boxed/exact_rational, ifeval:strict 2/3")
    loose_passed: Optional[bool] = Field(None, description="instructions: IFEval's loose verdict beside the strict one")


class AspectRating(Record):
    aspect: str
    rating: int = Field(ge=1, le=5)
    rationale: str = ""


class Judgment(Record):
    """One judge's UltraFeedback-style ratings of one response."""

    judge: str
    ratings: list[AspectRating]
    mean: float


class Comparison(Record):
    """One judge's pairwise preference between two responses, asked in both orders."""

    judge: str
    first_id: str
    second_id: str
    preferred_id: Optional[str] = Field(None, description="None when the judge called a tie")
    position_consistent: bool = Field(description="False when the verdict flipped with the order (position bias)")
    rationale: str = ""


class DensityRatio(Record):
    """CDR's label for one response: log p_strong(response | prompt) - log p_weak(response | prompt)."""

    strong: str
    weak: str
    strong_logprob: float
    weak_logprob: float
    tokens: int = Field(ge=0, description="tokens of the response scored")
    value: float = Field(description="the log-density ratio; per token when normalized")
    normalized: bool = False


class Candidate(Record):
    id: str
    prompt_id: str
    model: str
    text: str
    sample_index: int = 0
    sampling_params: dict[str, Any] = Field(default_factory=dict)
    usage: Optional[TokenUsage] = None
    finish_reason: Optional[str] = None
    latency_s: Optional[float] = None
    metadata: dict[str, Any] = Field(default_factory=dict, description="extra keys of a recorded response")
    verdict: Optional[Verdict] = None
    judgments: list[Judgment] = Field(default_factory=list)
    density_ratio: Optional[DensityRatio] = None

    @classmethod
    def make_id(cls, prompt_id: str, model: str, sample_index: int) -> str:
        return stable_id("candidate", prompt_id, model, sample_index)


class Span(Record):
    """A character span of a text, with the text it covers."""

    start: int
    end: int
    text: str


class SelfEdit(Record):
    """An accepted RISE self-edit of a verified-correct candidate: one subtle error planted in one step."""

    candidate_id: str
    model: str
    method: Literal["rule", "llm"]
    editor: str = Field("", description="model that made an LLM edit")
    error_type: str
    step_index: int
    prefix: str = Field(description="the solution before the edited step")
    original_step: str
    edited_step: str
    original_span: Span = Field(description="changed characters in the correct solution")
    edited_span: Span = Field(description="changed characters in the rejected solution")
    rejected_solution: str
    token_distance: int
    evidence: str = ""


class IncomingLabel(Record):
    """A preference label the input data already holds (TRL, HelpSteer2-Preference, MultiPref rows), kept as
    it came, with its source: prefmill never silently replaces it."""

    chosen_id: str
    rejected_id: str
    source: IncomingSource
    strength: Optional[int] = Field(None, ge=1, le=3,
                                    description="how much better chosen is, 1-3 (HelpSteer2-Preference)")
    rationale: Optional[str] = None
    annotator: Optional[str] = Field(None, description="who gave it, when the data says (a worker pool, a model)")


class PromptCandidates(Record):
    """A prompt with all its candidate responses: the unit that flows from Generate to BuildPairs."""

    prompt: Prompt
    candidates: list[Candidate] = Field(default_factory=list)
    edits: list[SelfEdit] = Field(default_factory=list)
    comparisons: list[Comparison] = Field(default_factory=list)
    incoming: list[IncomingLabel] = Field(default_factory=list, description="labels the input held, first = primary")


class Routing(Record):
    decision: Literal["human", "ai"]
    score: Optional[float] = None
    policy: str


class ErrorEdit(Record):
    """What a self-edit (RISE) changed: set on self_edit pairs only."""

    error_type: str
    step_index: int
    original_span: Span
    edited_span: Span
    token_distance: int


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class JudgeSummary(Record):
    """How an AI label was reached: which judges, how much they agreed, and whether order mattered."""

    judges: list[str]
    agreement: Optional[float] = Field(None, description="share of judges that prefer chosen")
    position_consistent: Optional[bool] = Field(None, description="pairwise: False when a verdict flipped with the order")
    low_confidence: bool = False


class Vote(Record):
    """One annotator's (or one incoming label's) view of a pair's label."""

    annotator: str
    margin: float = Field(ge=-3, le=3, description="+3: the pair's chosen is much better; -3: its rejected is")
    position_consistent: Optional[bool] = Field(None, description="the same preference in both orders (LLM votes)")


class Annotation(Record):
    """Where a pair's rationale came from, and what annotators said of its label (blind, both orders)."""

    rationale_source: Literal["template", "llm", "incoming"]
    model: Optional[str] = None
    prompt_version: Optional[str] = None
    grounded: bool = Field(False, description="the rationale's prompt held verifier evidence or the planted error")
    strength_justification: Optional[str] = None
    votes: list[Vote] = Field(default_factory=list)
    label_agreement: Optional[float] = Field(None, description="share of votes that prefer the pair's chosen")
    position_consistent: Optional[bool] = Field(None, description="every LLM vote was the same in both orders")
    mean_margin: Optional[float] = None
    margin_spread: Optional[float] = Field(None, description="standard deviation of the votes' margins")
    suspected_flip: bool = Field(False, description="the votes confidently prefer the rejected response")
    action: Optional[Literal["kept", "flipped", "human_first"]] = Field(
        None, description="what was done with a suspected flip (dropped ones are dead letters)")


class PreferencePair(Record):
    id: str
    prompt_id: str
    domain: Domain
    prompt: list[Message]
    chosen: list[Message]
    rejected: list[Message]
    chosen_model: str
    rejected_model: str
    chosen_score: Optional[float] = None
    rejected_score: Optional[float] = None
    pair_source: PairSource
    granularity: Literal["solution", "step"] = Field(
        "solution", description="step: prompt = question + correct prefix, chosen/rejected = one step (Step-DPO)")
    margin: Optional[float] = None
    strength: Optional[int] = Field(None, ge=-3, le=3)
    rationale: Optional[str] = None
    label_source: LabelSource
    routing: Optional[Routing] = None
    error_edit: Optional[ErrorEdit] = None
    judge: Optional[JudgeSummary] = None
    annotation: Optional[Annotation] = None
    chosen_candidate_id: Optional[str] = None
    rejected_candidate_id: Optional[str] = None
    run_id: str
    config_hash: str
    created_at: datetime = Field(default_factory=utc_now)

    @classmethod
    def make_id(cls, prompt_id: str, chosen_id: str, rejected_id: str, pair_source: str) -> str:
        return stable_id("pair", prompt_id, chosen_id, rejected_id, pair_source)


class DeadLetter(Record):
    """A record a stage could not process, with the reason code and the original payload.

    Error and payload are redacted of secrets here, the one place every stage's errors become records.
    """

    stage: str
    reason: str
    record_id: Optional[str] = None
    payload: str = Field(description="the original record, as JSON text where it could be encoded")
    error: str = ""
    run_id: str = ""
    created_at: datetime = Field(default_factory=utc_now)

    @field_validator("payload", "error")
    @classmethod
    def _no_secrets(cls, value: str) -> str:
        return redact(value)
