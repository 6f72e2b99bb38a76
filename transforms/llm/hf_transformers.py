"""Hugging Face transformers on CPU or GPU: batched, left-padded generation with the chat template, and
scoring (a batched forward pass, right-padded).

Requests are grouped by sampling parameters and generated `batch_size` at a time. Sampling is seeded per
batch from the requests' seeds and sample indices, so the same batch gives the same text. `finish_reason`
is "stop" when the model emitted its end token or a `sampling.stop` string (cut off, as OpenAI-compatible
servers do) and "length" when it hit `max_tokens`. With `sampling.logprobs` each generated token's
log-probability under the model (before temperature and top-p, as vLLM reports it) comes back too.
There is no constrained decoding here: a stage that needs structured output (judges, the tagger) is
refused at validate time for this backend. Stages naming the same model, device, dtype and chat template
share one loaded model per process (`shared_engine`).
"""

from __future__ import annotations

import time
import zlib
from typing import Any, Optional

from prefmill.transforms.llm.base import LLMHandler, LLMRequest, LLMResponse, shared_engine
from prefmill.transforms.llm.options import TransformersOptions
from prefmill.transforms.llm.scoring import score_token_ids


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """The text up to its first stop string (not included, as OpenAI-compatible servers do), and whether one
    was found.

    >>> cut_at_stop("Step 1: add.\\nStep 2: done.", ["\\nStep 2"])
    ('Step 1: add.', True)
    >>> cut_at_stop("no stop here", ["###"])
    ('no stop here', False)
    """
    found = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[:min(found)], True) if found else (text, False)


class LoadedModel:
    """The network and its tokenizer (an object, not a tuple: Beam shares models through weak references)."""

    def __init__(self, net: Any, tokenizer: Any) -> None:
        self.net = net
        self.tokenizer = tokenizer


class TransformersHandler(LLMHandler):
    backend = "transformers"

    def __init__(self, *, model_id: str, options: TransformersOptions, cache_path: Optional[str] = None,
                 max_batch_size: int = 64) -> None:
        super().__init__(model_id=model_id, cache_path=cache_path, max_batch_size=max_batch_size)
        self.options = options

    def engine_identity(self) -> str:
        o = self.options
        return f"transformers:{self.model_id}:{o.device}:{o.dtype}:{o.chat_template or ''}"

    def load_model(self) -> Any:
        return shared_engine(self.engine_identity(), self._load)

    def _load(self) -> Any:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.model_id)
        tokenizer.padding_side = "left"  # decoder-only models continue from the right edge
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if self.options.chat_template:
            tokenizer.chat_template = self.options.chat_template
        model = AutoModelForCausalLM.from_pretrained(self.model_id, dtype=getattr(torch, self.options.dtype))
        model.to(self.options.device).eval()
        return LoadedModel(model, tokenizer)

    def render(self, tokenizer: Any, request: LLMRequest) -> str:
        return tokenizer.apply_chat_template(request.messages, add_generation_prompt=True, tokenize=False)

    def generate(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        groups: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault(request.params.model_dump_json(exclude={"seed"}), []).append(index)
        results: list[Optional[LLMResponse]] = [None] * len(requests)
        size = self.options.batch_size
        for indices in groups.values():
            for start in range(0, len(indices), size):
                chunk = indices[start:start + size]
                for index, response in zip(chunk, self._generate_batch([requests[i] for i in chunk], model)):
                    results[index] = response
        return [r for r in results if r is not None]

    def _generate_batch(self, batch: list[LLMRequest], model: Any) -> list[LLMResponse]:
        import torch

        net, tokenizer = model.net, model.tokenizer
        params = batch[0].params
        texts = [self.render(tokenizer, r) for r in batch]
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(net.device)
        seed_text = "|".join(f"{r.params.seed}:{r.sample_index}:{r.key}" for r in batch)
        torch.manual_seed(zlib.crc32(seed_text.encode()))
        started = time.monotonic()
        sampling = params.temperature > 0
        stops = {"stop_strings": list(params.stop), "tokenizer": tokenizer} if params.stop else {}
        logits = {"output_logits": True, "return_dict_in_generate": True} if params.logprobs else {}
        with torch.no_grad():
            output = net.generate(
                **encoded, max_new_tokens=params.max_tokens, do_sample=sampling,
                temperature=params.temperature if sampling else None, top_p=params.top_p if sampling else None,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, **stops, **logits,
            )
        elapsed = time.monotonic() - started
        sequences = output.sequences if params.logprobs else output
        prompt_len = encoded["input_ids"].shape[1]
        chosen_logprobs = None
        if params.logprobs:  # raw logits of each step -> log-probability of the token taken
            steps = torch.stack(output.logits, dim=1).float().log_softmax(-1)
            chosen_logprobs = steps.gather(2, sequences[:, prompt_len:, None]).squeeze(-1).tolist()
        responses = []
        for position, (row, request) in enumerate(zip(sequences, batch)):
            new = row[prompt_len:].tolist()
            ended = tokenizer.eos_token_id in new
            if ended:
                new = new[: new.index(tokenizer.eos_token_id)]
            text = tokenizer.decode(new, skip_special_tokens=True)
            text, stopped = cut_at_stop(text, params.stop or [])
            ended = ended or stopped
            prompt_tokens = int(encoded["attention_mask"][position].sum())
            kept = len(new)
            if stopped:  # the tokens up to the stop string's cut: the shortest prefix that spells the text
                kept = next((k for k in range(len(new) + 1)
                             if len(tokenizer.decode(new[:k], skip_special_tokens=True)) >= len(text)), len(new))
            responses.append(LLMResponse(
                request=request, text=text, finish_reason="stop" if ended else "length", prompt_tokens=prompt_tokens,
                completion_tokens=len(new), latency_s=elapsed,
                token_logprobs=chosen_logprobs[position][:kept] if chosen_logprobs is not None else None))
        return responses

    def score(self, requests: list[LLMRequest], model: Any) -> list[LLMResponse]:
        """Log-likelihood of each request's `score_text`: one forward pass per `batch_size` requests, sorted
        by length so a batch pads little."""
        encoded = [score_token_ids(model.tokenizer, r.messages, r.score_text) for r in requests]
        order = sorted(range(len(requests)), key=lambda i: len(encoded[i][0]))
        results: list[Optional[LLMResponse]] = [None] * len(requests)
        size = self.options.batch_size
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            started = time.monotonic()
            values = self._score_batch([encoded[i] for i in chunk], model)
            elapsed = time.monotonic() - started
            for i, logprobs in zip(chunk, values):
                ids, text_start = encoded[i]
                results[i] = LLMResponse(request=requests[i], token_logprobs=logprobs, prompt_tokens=text_start,
                                         completion_tokens=len(ids) - text_start, latency_s=elapsed)
        return [r for r in results if r is not None]

    def _score_batch(self, encoded: list[tuple[list[int], int]], model: Any) -> list[list[float]]:
        import torch

        net, tokenizer = model.net, model.tokenizer
        width = max(len(ids) for ids, _ in encoded)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        input_ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, (ids, _) in enumerate(encoded):  # right padding: positions count from each row's start
            input_ids[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[row, :len(ids)] = 1
        with torch.no_grad():
            logits = net(input_ids=input_ids.to(net.device), attention_mask=mask.to(net.device)).logits
        # the token at t is predicted at t - 1
        logprobs = logits[:, :-1].float().log_softmax(-1).gather(2, input_ids[:, 1:, None].to(net.device)).squeeze(-1)
        logprobs = logprobs.cpu().tolist()
        return [logprobs[row][max(start, 1) - 1: len(ids) - 1] for row, (ids, start) in enumerate(encoded)]
