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


PROMPT = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "How many crayons are left?"}]
TEXTS = ["There are 4 crayons left.", "Five.", "", "The box held 12 crayons and 8 were used, so 4 remain in it now."]


def _score(handler, model, texts):
    requests = [LLMRequest("p1", "tiny", PROMPT, SamplingParams(), score_text=t) for t in texts]
    return handler.score(requests, model)


def test_a_score_is_the_models_own_loss_on_the_same_tokens(tiny_model):
    import torch

    from prefmill.transforms.llm.scoring import score_token_ids

    handler = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=3))
    model = handler.load_model()
    scored = _score(handler, model, TEXTS)  # padded batches of different lengths, sorted by length
    for text, response in zip(TEXTS, scored):
        ids, start = score_token_ids(model.tokenizer, PROMPT, text)
        assert response.ok and len(response.token_logprobs) == len(ids) - start == response.completion_tokens
        if not text:
            assert response.logprob == 0.0
            continue
        labels = torch.tensor([[-100] * start + ids[start:]])  # the loss counts only the text's tokens
        with torch.no_grad():
            loss = model.net(input_ids=torch.tensor([ids]), labels=labels).loss.item()
        assert abs(response.logprob - (-loss * (len(ids) - start))) < 1e-4, (text, response.logprob, loss)


def test_generation_logprobs_are_the_scores_of_the_generated_tokens(tiny_model):
    handler = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=2))
    model = handler.load_model()
    params = SamplingParams(temperature=0.0, max_tokens=12, logprobs=True)
    generated = handler.generate([LLMRequest("p1", "tiny", PROMPT, params)], model)[0]
    assert generated.ok and len(generated.token_logprobs) == generated.completion_tokens > 0
    # scoring the same text gives the same numbers when the text re-tokenizes to the generated tokens
    ids = model.tokenizer(generated.text, add_special_tokens=False)["input_ids"]
    (rescored,) = _score(handler, model, [generated.text])
    assert len(ids) == generated.completion_tokens  # the greedy text re-tokenizes to the generated tokens
    assert all(abs(a - b) < 1e-4 for a, b in zip(generated.token_logprobs, rescored.token_logprobs))
    assert all(value <= 0 for value in generated.token_logprobs)


def test_stages_naming_one_model_share_one_loaded_copy(tiny_model):
    first = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=2))
    second = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=8))
    other_dtype = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(dtype="bfloat16"))
    model = first.load_model()
    assert second.load_model() is model  # batch size is the stage's business, not the engine's
    assert other_dtype.load_model() is not model


@pytest.mark.gpu
def test_scores_on_the_gpu_equal_the_cpus(tiny_model):
    """Where a CUDA device exists: the same model, the same texts, scored on both devices."""
    cpu = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=3))
    gpu = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=3, device="cuda"))
    on_cpu, on_gpu = _score(cpu, cpu.load_model(), TEXTS), _score(gpu, gpu.load_model(), TEXTS)
    assert all(abs(a.logprob - b.logprob) < 1e-3 for a, b in zip(on_cpu, on_gpu))
    params = SamplingParams(temperature=0.0, max_tokens=12, logprobs=True)
    (generated,) = gpu.generate([LLMRequest("p1", "tiny", PROMPT, params)], gpu.load_model())
    assert generated.ok and len(generated.token_logprobs) == generated.completion_tokens


def test_logprobs_stop_where_a_stop_string_cut_the_text(tiny_model):
    handler = TransformersHandler(model_id=str(tiny_model), options=TransformersOptions(batch_size=1))
    model = handler.load_model()
    free = _answer(handler, model)
    ids = model.tokenizer(free.text, add_special_tokens=False)["input_ids"]
    stop = next(t for t in (model.tokenizer.decode([i]) for i in ids[len(ids) // 2:]) if t.strip())
    params = SamplingParams(temperature=0.0, max_tokens=24, stop=[stop], logprobs=True)
    (cut,) = handler.generate([LLMRequest("p1", "tiny", [{"role": "user", "content": "How many crayons are left?"}],
                                          params)], model)
    assert cut.finish_reason == "stop" and 0 < len(cut.token_logprobs) < cut.completion_tokens
    question = [{"role": "user", "content": "How many crayons are left?"}]
    (rescored,) = handler.score([LLMRequest("p1", "tiny", question, SamplingParams(), score_text=cut.text)], model)
    assert len(rescored.token_logprobs) == len(cut.token_logprobs)  # the kept tokens are the text's own
