"""What a score is, the same in every backend: the tokens of the rendered prompt (the chat template with the
generation prompt, as generation sees it) followed by the scored text's own tokens, and the log-probability
of each text token given everything before it. The end-of-turn token is not scored: two responses of one
prompt are compared on their own tokens.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence


def render_prompt(tokenizer: Any, messages: Sequence[dict], chat_template: Optional[str] = None) -> str:
    """The prompt as the model reads it before answering (the generation prompt included)."""
    kwargs = {"chat_template": chat_template} if chat_template else {}
    return tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False, **kwargs)


def score_token_ids(tokenizer: Any, messages: Sequence[dict], text: str,
                    chat_template: Optional[str] = None) -> tuple[list[int], int]:
    """(prompt ids + text ids, where the text starts). The two parts are tokenized apart, so a token never
    straddles the boundary and every backend scores exactly the same text tokens."""
    prompt = render_prompt(tokenizer, messages, chat_template)
    prompt_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    text_ids = list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []
    return prompt_ids + text_ids, len(prompt_ids)
