"""Settings of each LLM backend: plain pydantic models, importable without the backends themselves."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator


def with_scheme(url: str, example: str) -> str:
    """`url` if it names its scheme, else a ValueError that shows it with one."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"base_url {url!r} needs its scheme, e.g. {example}://{url.split('://')[-1]}")
    return url


class TransformersOptions(BaseModel):
    """Local transformers model settings."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field("cpu", description="cpu, cuda, cuda:0, ...")
    dtype: str = Field("float32", description="float32, bfloat16 or float16")
    batch_size: int = Field(8, gt=0, description="sequences generated together")
    chat_template: Optional[str] = Field(None, description="Jinja chat template overriding the tokenizer's")


class OpenAIOptions(BaseModel):
    """Connection and rate settings of an OpenAI-compatible server."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field("http://127.0.0.1:8000/v1", description="server URL up to /v1")
    api_key_env: Optional[str] = Field(None, description="name of the environment variable holding the API key")
    max_concurrency: int = Field(32, gt=0, description="requests in flight at once (per worker process); the most, "
                                                       "with adaptive_concurrency")
    machine_concurrency: Optional[int] = Field(
        None, gt=0, description="requests in flight to this base_url from the whole machine: every worker process, "
                                "stage and prefmill run on it draws from one pool (a process between two batches "
                                "leaves its share to the others); max_concurrency still bounds each process")
    adaptive_concurrency: bool = Field(True, description="back off on 429, 503 and timeouts (halve), recover "
                                                         "additively (AIMD), between min and max_concurrency")
    min_concurrency: int = Field(1, gt=0, description="the fewest requests in flight adaptive concurrency keeps")
    requests_per_minute: Optional[float] = Field(None, gt=0, description="request rate limit")
    tokens_per_minute: Optional[float] = Field(None, gt=0, description="token rate limit (prompt + max_tokens)")
    timeout_s: float = Field(120.0, gt=0, description="per-request timeout")
    max_retries: int = Field(5, ge=0, description="retries after the first attempt")
    backoff_base_s: float = Field(0.5, gt=0, description="first backoff; doubles per retry, with jitter")
    backoff_max_s: float = Field(30.0, gt=0, description="longest backoff, and longest Retry-After honoured")
    scoring: bool = Field(
        False, description="the server scores texts (/tokenize and /v1/completions with echo and logprobs, as "
                           "vLLM's and SGLang's servers do); needed by scoring stages (density_ratio)")
    samples_per_request: int = Field(
        1, ge=1, description="ask for up to this many samples of one prompt in a single request (n > 1); "
                             "for servers that honour n (vLLM, SGLang, OpenAI); each sample is still cached alone")

    _has_scheme = field_validator("base_url")(lambda cls, url: with_scheme(url, "http"))


class VLLMOptions(BaseModel):
    """vLLM engine settings (stages naming the same model with the same settings share one engine)."""

    model_config = ConfigDict(extra="forbid")

    tensor_parallel_size: int = Field(1, gt=0, description="GPUs one engine spans")
    dtype: str = Field("auto", description="auto, bfloat16, float16, float32")
    quantization: Optional[str] = Field(None, description="vLLM's quantization method (awq, gptq, fp8, ...)")
    max_model_len: Optional[int] = Field(None, gt=0, description="context length (default: the model's)")
    gpu_memory_utilization: float = Field(0.9, gt=0.0, le=1.0, description="share of GPU memory the engine takes")
    enable_prefix_caching: bool = Field(True, description="reuse the KV cache of shared prompt prefixes")
    chat_template: Optional[str] = Field(None, description="Jinja chat template overriding the model's")
    enforce_eager: bool = Field(False, description="skip CUDA graphs (slower, starts sooner)")
    seed: int = Field(0, description="engine seed")


class BatchPrice(BaseModel):
    """A model's price in dollars per million tokens, for the run summary's cost estimate."""

    model_config = ConfigDict(extra="forbid")

    input_per_mtok: float = Field(ge=0.0, description="online price of a million prompt tokens")
    output_per_mtok: float = Field(ge=0.0, description="online price of a million generated tokens")
    batch_discount: float = Field(0.5, gt=0.0, le=1.0, description="batch price as a share of the online price "
                                                                   "(OpenAI and Anthropic: 0.5)")


class BatchOptions(BaseModel):
    """A provider's batch API: requests go up as JSONL, come back hours later at about half the price."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field("https://api.openai.com/v1", description="API URL up to /v1")
    api_key_env: Optional[str] = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    completion_window: str = Field("24h", description="the batch's completion window (OpenAI)")
    poll_interval_s: float = Field(10.0, gt=0, description="first wait between status polls; grows 1.5x per poll")
    poll_max_interval_s: float = Field(120.0, gt=0, description="longest wait between status polls")
    max_wait_s: Optional[float] = Field(None, gt=0, description="give up on a batch after this long (its requests "
                                                                "become batch_unfinished dead letters); default: "
                                                                "wait for the provider's own end of the batch")
    max_requests_per_batch: int = Field(50_000, gt=0, description="split larger submissions (OpenAI: 50,000)")
    max_bytes_per_batch: int = Field(200_000_000, gt=0, description="split larger input files (OpenAI: 200 MB)")
    max_submissions: int = Field(3, ge=1, description="times one request may be submitted: an expired or "
                                                      "cancelled batch, or a retryable error line, resubmits it")
    timeout_s: float = Field(600.0, gt=0, description="timeout of one API call (an upload, a status poll)")
    max_retries: int = Field(5, ge=0, description="retries of one API call after 429, 5xx or a lost connection")
    price: Optional[BatchPrice] = Field(None, description="the model's price, for the summary's cost estimate")

    _has_scheme = field_validator("base_url")(lambda cls, url: with_scheme(url, "https"))


class AnthropicBatchOptions(BatchOptions):
    """Anthropic's Message Batches API."""

    base_url: str = Field("https://api.anthropic.com/v1", description="API URL up to /v1")
    api_key_env: Optional[str] = Field("ANTHROPIC_API_KEY", description="environment variable holding the API key")
    anthropic_version: str = Field("2023-06-01", description="the anthropic-version header")
    max_requests_per_batch: int = Field(100_000, gt=0, description="split larger submissions (Anthropic: 100,000)")
    max_bytes_per_batch: int = Field(256_000_000, gt=0, description="split larger submissions (Anthropic: 256 MB)")
