"""The record contract between stages: pydantic models and the Arrow schemas derived from them."""

from prefmill.schemas.arrow import arrow_schema, from_row, to_row, to_table
from prefmill.schemas.uri import is_remote
from prefmill.schemas.errors import (
    CommitConflictError,
    ConfigError,
    DatasetError,
    InputError,
    PrefmillError,
    SchemaError,
)
from prefmill.schemas.records import (
    SCHEMA_VERSION,
    Annotation,
    AspectRating,
    Comparison,
    Judgment,
    JudgeSummary,
    Candidate,
    CodeTests,
    Constraint,
    DeadLetter,
    DensityRatio,
    ErrorEdit,
    IncomingLabel,
    Message,
    PreferencePair,
    Prompt,
    PromptCandidates,
    Reference,
    Routing,
    SelfEdit,
    Span,
    StdioCase,
    TokenUsage,
    Verdict,
    Vote,
    stable_id,
)

__all__ = [
    "SCHEMA_VERSION", "Annotation", "AspectRating", "Comparison", "JudgeSummary", "Judgment", "Candidate", "CodeTests", "CommitConflictError", "ConfigError", "Constraint",
    "DatasetError", "DeadLetter", "DensityRatio", "ErrorEdit", "IncomingLabel", "InputError", "Message", "PreferencePair", "PrefmillError",
    "Prompt", "PromptCandidates", "Reference", "Routing", "SchemaError", "SelfEdit", "Span", "StdioCase", "TokenUsage",
    "Verdict", "Vote", "arrow_schema", "from_row", "is_remote", "stable_id", "to_row", "to_table",
]
