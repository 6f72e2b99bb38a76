"""The LLM layer shared by generation, self-editing, judging and tagging.

Every backend is a Beam `ModelHandler` (`LLMHandler`) used through RunInference: chat messages in, one
`LLMResponse` per `LLMRequest` out, in order. A request that still fails after retries comes back as a
response with `error` set (a dead letter downstream), never as an exception that fails the batch.
Generation and judging send a prompt's requests as one `RequestGroup` (`LLMHandler.for_groups`): the
answers come back beside the prompt, so no join follows the LLM step.
Finished responses are kept in a `ResponseCache`, so a re-run makes no request it already made.
Heavy backends (torch, transformers, vllm, aiohttp) are imported inside their handlers, and nothing here
imports RunInference until an LLM stage is built.
"""

from prefmill.transforms.llm.cache import ResponseCache
from prefmill.transforms.llm.requests import LLMRequest, LLMResponse, RequestGroup, SamplingParams, request_key


def __getattr__(name: str):
    # LLMHandler pulls in Beam's RunInference machinery: only on first use
    if name == "LLMHandler":
        from prefmill.transforms.llm.base import LLMHandler

        return LLMHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LLMHandler", "LLMRequest", "LLMResponse", "RequestGroup", "ResponseCache", "SamplingParams",
           "request_key"]
