"""What every LLM stage exchanges with a backend: requests, responses, sampling parameters, cache keys.

Plain data, no Beam ML import: the CPU-only stages use these types without loading the RunInference
machinery (which imports torch when it is installed, about 180 MB per worker process).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field


class SamplingParams(BaseModel):
    """Sampling parameters of one model; part of every request's cache key."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.7, ge=0.0, description="0 = greedy")
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(512, gt=0, description="maximum new tokens per response")
    seed: Optional[int] = Field(0, description="base seed; each sample adds its index")
    stop: list[str] = Field(default_factory=list)
    json_schema: Optional[dict[str, Any]] = Field(None, description="structured output: the response must match")
    logprobs: bool = Field(False, description="return each generated token's log-probability")


def request_key(model_id: str, messages: Sequence[dict], params: SamplingParams, sample_index: int,
                score_text: Optional[str] = None) -> str:
    """Cache key of a request: the same model, messages, params, seed and sample index give the same key;
    a scoring request's key holds the scored text instead of the sampling parameters. Settings left at
    their defaults since keys were first written (`logprobs`) are left out, so older caches still hit.

    >>> p = SamplingParams()
    >>> request_key("m", [{"role": "user", "content": "hi"}], p, 0) == request_key("m", [{"role": "user", "content": "hi"}], p, 0)
    True
    >>> request_key("m", [{"role": "user", "content": "hi"}], p, 0) == request_key("m", [{"role": "user", "content": "hi"}], p, 1)
    False
    """
    if score_text is not None:
        fields = {"model": model_id, "messages": list(messages), "score": score_text}
    else:
        dumped = params.model_dump(mode="json", exclude=set() if params.logprobs else {"logprobs"})
        fields = {"model": model_id, "messages": list(messages), "params": dumped, "sample": sample_index}
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class LLMRequest:
    prompt_id: str
    model: str  # the label datasets show (chosen_model, ...)
    messages: list[dict]
    params: SamplingParams
    sample_index: int = 0
    key: str = ""
    tag: Any = None  # caller's context (e.g. which pair a judge request belongs to); not part of the key
    # A scoring request: the log-likelihood of this text as the assistant's answer to `messages` (no sampling)
    score_text: Optional[str] = None


@dataclass
class LLMResponse:
    request: LLMRequest
    text: Optional[str] = None
    finish_reason: Optional[str] = None
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    latency_s: Optional[float] = None
    error: Optional[str] = None
    status: Optional[int] = None
    reason: Optional[str] = None  # a failed request's reason code, set by the backend from the failure's type
    attempts: int = 1
    cached: bool = False
    extra: dict = field(default_factory=dict)
    # per-token log-probabilities: of the generated tokens (sampling.logprobs), or of the scored text
    token_logprobs: Optional[list[float]] = None

    @property
    def ok(self) -> bool:
        if self.error is not None:
            return False
        return self.token_logprobs is not None if self.request.score_text is not None else self.text is not None

    @property
    def logprob(self) -> Optional[float]:
        """The summed log-probability of the tokens in `token_logprobs` (a score: log p(text | prompt))."""
        return None if self.token_logprobs is None else float(sum(self.token_logprobs))

    def to_cache(self) -> dict:
        entry = {"text": self.text, "finish_reason": self.finish_reason, "prompt_tokens": self.prompt_tokens,
                 "completion_tokens": self.completion_tokens, "latency_s": self.latency_s}
        if self.token_logprobs is not None:
            entry["token_logprobs"] = self.token_logprobs
        return entry

    @classmethod
    def from_cache(cls, request: LLMRequest, entry: dict) -> "LLMResponse":
        return cls(request=request, text=entry.get("text"), finish_reason=entry.get("finish_reason"),
                   prompt_tokens=entry.get("prompt_tokens"), completion_tokens=entry.get("completion_tokens"),
                   latency_s=entry.get("latency_s"), cached=True, attempts=0,
                   token_logprobs=entry.get("token_logprobs"))


INFERENCE_ERROR = "inference_error"  # the reason of requests whose whole batch raised in the backend


@dataclass
class RequestGroup:
    """Requests that travel through one RunInference step together with what they belong to (`owner`, e.g.
    a prompt and its candidates), so the answers come back beside it and no join is needed after the LLM
    step. A handler in group mode (`LLMHandler.for_groups`) fills `responses`, in request order."""

    owner: Any
    requests: list[LLMRequest]
    responses: list[LLMResponse] = field(default_factory=list)

    def failed(self, error: str, reason: str) -> "RequestGroup":
        """This group with every request answered by `error` (its batch raised instead of answering)."""
        return RequestGroup(self.owner, self.requests,
                            [LLMResponse(request=r, error=error, attempts=0, reason=reason)
                             for r in self.requests])


def group_weight(group: RequestGroup) -> int:
    """A group's share of a RunInference batch: its number of requests (at least 1)."""
    return max(1, len(group.requests))

