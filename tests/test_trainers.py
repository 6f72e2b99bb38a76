"""Acceptance: TRL's DPOTrainer and RewardTrainer train on prefmill's exports as they are.

A tiny randomly initialised model (built locally) runs a few steps on CPU on the `trl-dpo` and `trl-reward`
exports of the quickstart dataset, loaded with `datasets.load_dataset("parquet", ...)`.
"""

from __future__ import annotations

import math

import pytest

from prefmill.transforms.dataset.export import export

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
