"""A model entry of the config (`generate.models`, `judge.models`, `inject.model`, `route.tagger`): the fields
every backend shares, and one entry model per backend holding that backend's own options under its name.

The entry models are plain pydantic and import nothing heavy, so a config validates without torch, vLLM or
aiohttp. `prefmill.transforms.llm.registry` joins them into `ModelSpec`, a union keyed by `backend`: an
`openai` entry with a `vllm:` block is an unknown key, not silently ignored options. `Backend` is the
registry's line for one backend; a plugin imports it from here (not from the registry, which loads plugins).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from prefmill.transforms.llm.options import (
    AnthropicBatchOptions, BatchOptions, OpenAIOptions, TransformersOptions, VLLMOptions,
)
from prefmill.transforms.llm.requests import SamplingParams


class ModelBase(BaseModel):
    """One model that answers prompts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="label stored in the dataset (chosen_model, rejected_model)")
    backend: str = Field(description="openai (any OpenAI-compatible server) | vllm | transformers | openai_batch | "
                                             "anthropic_batch")
    model: str = Field(description="the backend's model id or local path")
    n: int = Field(1, gt=0, description="samples per prompt")
    policy: bool = Field(False, description="on-policy: this is the model being trained")
    sampling: SamplingParams = Field(default_factory=SamplingParams)
    batch_size: Optional[int] = Field(
        None, gt=0, description="requests per RunInference batch; default: openai 32 x max_concurrency, vllm 4096, "
                                "transformers 8 x its batch_size, batch APIs max_requests_per_batch")


class OpenAIModel(ModelBase):
    backend: Literal["openai"]
    openai: OpenAIOptions = Field(default_factory=OpenAIOptions)


class VLLMModel(ModelBase):
    backend: Literal["vllm"]
    vllm: VLLMOptions = Field(default_factory=VLLMOptions)


class TransformersModel(ModelBase):
    backend: Literal["transformers"]
    transformers: TransformersOptions = Field(default_factory=TransformersOptions)


class OpenAIBatchModel(ModelBase):
    backend: Literal["openai_batch"]
    openai_batch: BatchOptions = Field(default_factory=BatchOptions)


class AnthropicBatchModel(ModelBase):
    backend: Literal["anthropic_batch"]
    anthropic_batch: AnthropicBatchOptions = Field(default_factory=AnthropicBatchOptions)


@dataclass(frozen=True)
class Backend:
    name: str
    entry: type[ModelBase]              # the config entry (its `backend` literal is `name`)
    handler: str                        # "module:Class", imported only when a stage is built
    options: str                        # the entry's field holding the backend's own options
    capabilities: frozenset[str]
    batch_size: Callable[[ModelBase], int]  # requests per RunInference batch when the entry sets none
    # capabilities of the backend that one entry does not have, each with the setting that gives it
    entry_lacks: Callable[[ModelBase], dict[str, str]] = lambda spec: {}
    # keeps state in the response cache that a rerun needs (batch APIs: the ids of submitted batches)
    needs_cache: bool = False
