"""What prefmill relies on inside Beam, checked by name, so a Beam upgrade fails here, loudly, instead of
silently losing a speed-up or the plugins of local worker processes.

- transforms/llm/beam_ml.py: `apache_beam.ml.inference.base` imports its ModelManager module at load time
  inside a guarded import (catching ImportError, leaving `ModelManager = None`) and has a module global
  `resource`; the model manager lives at `apache_beam.ml.inference.model_manager`.
- pipelines/runners.py: FnApiRunner takes `provision_info=ExtendedProvisionInfo(ProvisionInfo(...))`, and its
  worker processes read `beam_plugins` from the provisioned pipeline options.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib import metadata

from packaging.specifiers import SpecifierSet

from support import REPO


def test_the_installed_beam_is_in_the_tested_range():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.startswith("apache-beam"))
    assert metadata.version("apache-beam") in SpecifierSet(spec[len("apache-beam"):].split(";")[0])


def test_runinference_still_loads_its_model_manager_the_way_beam_ml_expects():
    import apache_beam.ml.inference.base as base

    source = inspect.getsource(base)
    assert re.search(r"from apache_beam\.ml\.inference\.model_manager import ModelManager", source)
    assert "except ImportError" in source and hasattr(base, "ModelManager") and hasattr(base, "resource")
    import importlib.util

    assert importlib.util.find_spec("apache_beam.ml.inference.model_manager")  # the module beam_ml marks missing


def test_fn_api_runner_still_takes_the_provision_info_runners_builds():
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.runners.portability.fn_api_runner.fn_runner import ExtendedProvisionInfo

    assert "provision_info" in inspect.signature(FnApiRunner.__init__).parameters
    info = ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(retrieval_token="x"))
    assert info.provision_info.retrieval_token == "x"
    from apache_beam.runners.worker import sdk_worker_main

    assert "beam_plugins" in inspect.getsource(sdk_worker_main)  # workers import the provisioned plugins
