"""The transformers backend on the tiny local model: stop strings end a generation where an OpenAI-compatible
server would (the stop string itself left out)."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from prefmill.transforms.llm.hf_transformers import TransformersHandler  # noqa: E402
from prefmill.transforms.llm.options import TransformersOptions  # noqa: E402
from prefmill.transforms.llm.requests import LLMRequest, SamplingParams  # noqa: E402


def _answer(handler, model, stop=None):
    params = SamplingParams(temperature=0.0, max_tokens=24, stop=stop or [])
    request = LLMRequest("p1", "tiny", [{"role": "user", "content": "How many crayons are left?"}], params)
    (response,) = handler.generate([request], model)
    return response


def test_stop_strings_end_the_generation_and_are_left_out(tiny_model):
    handler = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=1))
    model = handler.load_model()
    free = _answer(handler, model)
    assert free.ok and len(free.text) > 8 and free.finish_reason == "length"
    # a whole token from the middle of what the model writes anyway (greedy), so generation can end on it
    ids = model.tokenizer(free.text, add_special_tokens=False)["input_ids"]
    stop = next(t for t in (model.tokenizer.decode([i]) for i in ids[len(ids) // 2:]) if t.strip())
    cut = _answer(handler, model, stop=[stop])
    assert cut.finish_reason == "stop"
    assert cut.text == free.text[:free.text.find(stop)]
