"""How a stage runs its LLM requests: Beam's RunInference over a handler from the registry, and the reason
code of a request that failed."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from prefmill.transforms.llm.requests import LLMResponse

if TYPE_CHECKING:
    from prefmill.transforms.llm.base import LLMHandler


def run_inference(handler: "LLMHandler"):
    """Beam's RunInference over one of our handlers (imported only when an LLM stage is built). Stages
    whose handlers have the same `engine_identity` get the same `model_identifier`, so Beam loads their
    model once per worker process (once per machine for handlers that share across processes)."""
    import prefmill.transforms.llm.beam_ml  # noqa: F401  # first: Beam's RunInference without torch
    from apache_beam.ml.inference.base import RunInference

    identity = handler.engine_identity()
    if identity is None:
        return RunInference(handler)
    return RunInference(handler, model_identifier="prefmill-" + hashlib.sha256(identity.encode()).hexdigest()[:24])


def answer_groups(groups, label: str, handler: "LLMHandler", second_try=None):
    """RequestGroups -> the same groups with their responses, through RunInference in group mode (see
    `LLMHandler.for_groups`). Every group comes back, answered or failed, so this is one step with one
    output: it fuses with what comes before and after it."""
    return groups | label >> run_inference(handler.for_groups(second_try))


def failure_reason(response: LLMResponse) -> str:
    """Reason code of a request that failed after its retries: the one its backend set from the failure's
    type (`timeout`, `connection_error`, `http_<status>`, `malformed_response`, `inference_error`, ...).

    >>> failure_reason(LLMResponse(request=None, error="HTTP 429: slow down", status=429, reason="http_429"))
    'http_429'
    >>> failure_reason(LLMResponse(request=None, error="a backend that set no reason"))
    'llm_error'
    """
    return response.reason or "llm_error"
