"""A tiny, randomly initialised causal LM with a tokenizer trained on the spot: no downloads.

The weights are random, so its text is nonsense; tests use it to exercise real generation code paths
(padding, chat template, sampling, finish reasons) end to end on CPU.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} </s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "<|system|>", "<|user|>", "<|assistant|>"]


def corpus() -> list[str]:
    from support import SAMPLE

    import json

    lines = []
    for row in SAMPLE.read_text().splitlines():
        data = json.loads(row)
        lines.append(data["prompt"])
        lines.extend(c["text"] for c in data["candidates"])
    return lines


def build_tiny_model(folder: Path, *, hidden: int = 64, layers: int = 2, vocab: int = 512) -> Path:
    """Write a tiny Llama-style model and its tokenizer to `folder`; returns the folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=vocab, special_tokens=SPECIAL,
                                                           initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                        unk_token="<unk>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=1024, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


class TinyScorer:
    """What a scoring server (vLLM's `/tokenize` and echoed `/v1/completions`) computes, for the test server:
    one sequence at a time, no padding, no batching; written apart from the transformers backend so the two
    check each other."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.net = AutoModelForCausalLM.from_pretrained(folder).eval()

    def tokenize(self, body: dict) -> list[int]:
        if "messages" in body:
            text = self.tokenizer.apply_chat_template(body["messages"], add_generation_prompt=True, tokenize=False)
        else:
            text = body["prompt"]
        return self.tokenizer(text, add_special_tokens=bool(body.get("add_special_tokens")))["input_ids"]

    def prompt_logprobs(self, ids: list[int]) -> list:
        """[None, log p(ids[1] | ids[:1]), ...], as an echoed completion's token_logprobs."""
        import torch

        with torch.no_grad():
            logits = self.net(input_ids=torch.tensor([ids])).logits[0].float()
        values = torch.log_softmax(logits, -1)
        return [None] + [values[t - 1, ids[t]].item() for t in range(1, len(ids))]
