"""Shared fixtures: the repo's paths, and configs that point a real local run at a temp dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support import REPO, SAMPLE


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch):
    """Progress lines are for people; tests read the exact counts from the summary instead."""
    monkeypatch.delenv("PREFMILL_PROGRESS", raising=False)


@pytest.fixture
def make_config(tmp_path):
    """A validated config for a run over `path`, writing to a fresh dataset under tmp_path."""
    from prefmill.pipelines.config import validate_config

    def make(path: Path = SAMPLE, **sections):
        data = {"input": {"path": str(path)}, "output": {"uri": str(tmp_path / "dataset")}}
        for key, value in sections.items():
            data[key] = {**data.get(key, {}), **value}
        return validate_config(data)

    return make


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)
    return REPO


@pytest.fixture(scope="session")
def quickstart_uri(tmp_path_factory) -> str:
    """The quickstart config run once on the sample data, into a fresh dataset (read-only use only)."""
    from prefmill.pipelines.config import load_config
    from prefmill.pipelines.launcher import run_config

    config = load_config(REPO / "pipelines" / "configs" / "quickstart.yaml")
    config.input.path = str(SAMPLE)
    return run_config(config, output=str(tmp_path_factory.mktemp("quickstart") / "ds"), progress=False).uri


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny random Llama-style model and tokenizer, built once per session (skips without torch)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def pytest_report_header(config):
    return f"prefmill tests, cwd {os.getcwd()}"


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` run only where torch sees a CUDA device; elsewhere they are skipped cleanly."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if not has_gpu:
        for item in gpu_items:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))
