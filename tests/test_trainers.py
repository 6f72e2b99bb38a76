"""Acceptance: TRL's DPOTrainer and RewardTrainer train on prefmill's exports as they are.

A tiny randomly initialised model (built locally) runs a few steps on CPU on the `trl-dpo` and `trl-reward`
exports of the quickstart dataset, loaded with `datasets.load_dataset("parquet", ...)`.
"""

from __future__ import annotations

import math

import pytest

from prefmill.dataset.export import export

trl = pytest.importorskip("trl")


@pytest.fixture(scope="module")
def exports(tmp_path_factory, quickstart_uri):
    root = tmp_path_factory.mktemp("trainers")
    export(quickstart_uri, "trl-dpo", str(root / "dpo"))
    export(quickstart_uri, "trl-reward", str(root / "reward"))
    return root


def test_dpo_trainer_runs_on_the_trl_dpo_export(exports, tiny_model, tmp_path):
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer

    train = datasets.load_dataset("parquet", data_files=str(exports / "dpo" / "train.parquet"))["train"]
    assert train.column_names == ["prompt", "chosen", "rejected"]
    args = trl.DPOConfig(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=2, report_to=[],
                         max_length=256, use_cpu=True, save_strategy="no", logging_steps=1)
    trainer = trl.DPOTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model), args=args, train_dataset=train,
                             processing_class=AutoTokenizer.from_pretrained(tiny_model))
    result = trainer.train()
    assert result.global_step == 2 and math.isfinite(result.training_loss)


def test_reward_trainer_runs_on_the_trl_reward_export(exports, tiny_model, tmp_path):
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    train = datasets.load_dataset("parquet", data_files=str(exports / "reward" / "train.parquet"))["train"]
    assert "margin" in train.column_names
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    args = trl.RewardConfig(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=2, report_to=[],
                            max_length=256, use_cpu=True, save_strategy="no", logging_steps=1)
    result = trl.RewardTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer).train()
    assert result.global_step == 2 and math.isfinite(result.training_loss)


def test_step_pairs_are_continuations_under_trls_own_chat_template_rendering(quickstart_uri, tiny_model, tmp_path):
    """A RISE step pair stored as prompt=[user, assistant prefix], chosen=[step] renders in TRL as a new
    assistant turn after an end-of-turn token; prefmill's --include-steps export renders as one turn in which
    the step continues the prefix. The default conversational export leaves step pairs out."""
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer
    from trl.data_utils import apply_chat_template

    from prefmill.dataset import run_query

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    end_of_turn = tokenizer.eos_token
    _, rows = run_query(quickstart_uri, "SELECT id, prompt, chosen, rejected FROM pairs "
                                        "WHERE granularity = 'step' AND len(prompt) > 1 ORDER BY id LIMIT 1")
    pair_id, prompt, chosen, rejected = rows[0]
    prefix, step = prompt[-1]["content"], chosen[0]["content"]
    as_stored = apply_chat_template({"prompt": prompt, "chosen": chosen, "rejected": rejected}, tokenizer)
    assert end_of_turn in as_stored["chosen"].split(step)[0]  # the step opens a new turn: the failure avoided

    export(quickstart_uri, "trl-dpo", str(tmp_path / "with-steps"), include_steps=True)
    exported = pq.read_table(tmp_path / "with-steps" / "train.parquet").to_pylist()
    row = next(r for r in exported if r["chosen"][0]["content"] == prefix + step)
    assert [m["role"] for m in row["prompt"]] == ["user"]
    rendered = apply_chat_template(row, tokenizer)
    assert rendered["prompt"].endswith("<|assistant|> ")
    assert rendered["chosen"].startswith(prefix + step) and end_of_turn not in rendered["chosen"].split(step)[0]
    assert rendered["rejected"].startswith(prefix) and rendered["rejected"] != rendered["chosen"]

    export(quickstart_uri, "trl-dpo", str(tmp_path / "default"))
    default = pq.read_table(tmp_path / "default" / "train.parquet").to_pylist()
    assert len(exported) - len(default) == run_query(
        quickstart_uri, "SELECT count(*) FROM pairs WHERE granularity = 'step'")[1][0][0] > 0
    assert not [r for r in default if len(r["prompt"]) > 1 and r["prompt"][-1]["role"] == "assistant"]
