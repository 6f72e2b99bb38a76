"""Beam's RunInference without torch, in the launcher and in every worker process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from prefmill.pipelines.config import validate_config
from prefmill.pipelines.runners import LLM_PLUGIN, beam_arguments, local_runner
from apache_beam.options.pipeline_options import PipelineOptions

PROBE = """
import sys
import prefmill.transforms.llm.base  # what every LLM stage imports
import apache_beam.ml.inference.base as beam_ml
print("torch" in sys.modules, beam_ml.resource is not None, beam_ml.ModelManager is None)
# not left marked missing: Beam's on-demand import (use_model_manager=True) still tries the real module
print("apache_beam.ml.inference.model_manager" not in sys.modules)
"""


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="only matters where torch is installed")
def test_run_inference_loads_without_torch_and_the_model_manager_is_not_left_blocked():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "True", "True"]


def config(**extra):
    return validate_config({"input": {"path": "sample_data/prompts.jsonl"}, "output": {"uri": "/tmp/x"}, **extra})


def test_the_plugin_goes_to_workers_only_in_runs_that_call_models():
    assert not any(LLM_PLUGIN in a for a in beam_arguments(config(), []))
    judged = config(judge={"enabled": True, "models": [{"name": "j", "backend": "openai", "model": "j"}]},
                    pairs={"strategies": ["judged"]})
    args = beam_arguments(judged, ["--beam_plugins=my.plugin"])
    assert f"--beam_plugins={LLM_PLUGIN}" in args and "--beam_plugins=my.plugin" in args
    # FnApiRunner's worker processes get no pipeline options: the plugins travel in its provisioning info
    runner = local_runner(PipelineOptions(args))
    sent = dict(runner._provision_info.provision_info.pipeline_options)
    assert sorted(sent["beam_plugins"]) == sorted(["my.plugin", LLM_PLUGIN])
    assert not local_runner(PipelineOptions([]))._provision_info.provision_info.HasField("pipeline_options")
