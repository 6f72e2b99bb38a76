"""The Dataflow path, offline: DataflowRunner with --dry_run=True builds the whole job without submitting it.

Nothing here reaches Google Cloud: the dry run stops after the job description is built (package staging
included: Beam builds prefmill's sdist from pyproject.toml), and the bucket paths are never opened.
"""

from __future__ import annotations

import re

import pytest

from prefmill.pipelines.config import load_config, validate_config
from prefmill.pipelines.launcher import DryRun, run_config
from prefmill.pipelines.runners import beam_arguments
from prefmill.schemas import ConfigError
from prefmill.transforms.llm.vllm_handler import SUPPORTED, TESTED_VERSIONS
from support import REPO

try:  # only the tests that build a Dataflow job need the gcp extra; the others run without it
    import google.cloud.dataflow_v1beta3  # noqa: F401
    HAS_GCP = True
except ImportError:
    HAS_GCP = False
needs_gcp = pytest.mark.skipif(not HAS_GCP, reason="needs the gcp extra (apache-beam[gcp])")

CLOUD = ["--runner=DataflowRunner", "--project=prefmill-test", "--region=us-central1",
         "--temp_location=gs://prefmill-test-bucket/tmp", "--dry_run=True"]
CPU_STAGES = ["ReadPrompts", "CheckCandidates", "Verify", "InjectErrors", "BuildPairs", "RoutePairs", "StagePairs",
              "ApplyRouting", "PairsManifest", "WriteDeadLetters[read]", "WriteDeadLetters[pairs]", "DeadLettersManifest"]


def _top_level(job) -> set[str]:
    return {t.unique_name.split("/")[0] for t in job.proto_pipeline.components.transforms.values()}


def _environments(job) -> list[bytes]:
    return [env.payload for env in job.proto_pipeline.components.environments.values()]


@needs_gcp
def test_quickstart_builds_a_full_dataflow_job_and_stages_the_package():
    config = load_config(REPO / "pipelines" / "configs" / "quickstart.yaml")
    config.input.path = "gs://prefmill-test-bucket/prompts.jsonl"
    built = run_config(config, output="gs://prefmill-test-bucket/datasets/quickstart", beam_args=CLOUD, progress=False)
    assert isinstance(built, DryRun) and built.runner == "DataflowRunner (prefmill-test, us-central1)"
    assert set(CPU_STAGES) <= _top_level(built.job)
    options = built.job.options.get_all_options()
    # workers get prefmill from the source tree: Beam built an sdist of pyproject.toml and lists it to stage
    assert options["setup_file"] == str(REPO / "pyproject.toml")
    staged = [dep.role_payload for env in built.job.proto_pipeline.components.environments.values()
              for dep in env.dependencies]
    assert any(b"workflow.tar.gz" in payload for payload in staged)
    assert not options["dataflow_service_options"] and options["sdk_container_image"] is None


@needs_gcp
def test_vllm_gpu_config_sets_the_accelerator_and_the_worker_image():
    config = load_config(REPO / "pipelines" / "configs" / "dataflow_vllm_gpu.yaml")
    built = run_config(config, beam_args=CLOUD, progress=False)
    names = {t.unique_name for t in built.job.proto_pipeline.components.transforms.values()}
    assert {"GenerateWithModels", *CPU_STAGES} - {"InjectErrors"} <= _top_level(built.job)
    assert any(name.startswith("GenerateWithModels/RunInference[policy]") for name in names)
    options = built.job.options.get_all_options()
    image = "us-docker.pkg.dev/my-project/prefmill/gpu-worker:0.1.0"
    assert options["dataflow_service_options"] == ["worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver"]
    assert options["sdk_container_image"] == image and options["sdk_location"] == "container"
    assert options["machine_type"] == "g2-standard-8" and options["disk_size_gb"] == 100
    assert "no_use_multiple_sdk_containers" in options["experiments"]
    assert options["setup_file"] is None  # the image carries prefmill: nothing to stage
    assert all(image.encode() in payload for payload in _environments(built.job))


@needs_gcp
def test_remote_runs_refuse_local_paths():
    config = load_config(REPO / "pipelines" / "configs" / "quickstart.yaml")
    with pytest.raises(ConfigError, match=r"output.uri .*input.path"):
        run_config(config, output="runs/local", beam_args=CLOUD, progress=False)


def test_gpu_accelerator_needs_a_container_image():
    data = {"input": {"path": "gs://b/p.jsonl"}, "output": {"uri": "gs://b/d"},
            "runner": {"dataflow": {"worker_accelerator": "type:nvidia-l4;count:1"}}}
    with pytest.raises(ConfigError, match="worker_accelerator needs sdk_container_image"):
        validate_config(data)


def test_command_line_options_win_over_the_config():
    config = validate_config({"input": {"path": "gs://b/p.jsonl"}, "output": {"uri": "gs://b/d"},
                              "runner": {"options": {"region": "europe-west4", "project": "cfg", "streaming": False,
                                                     "experiments": ["a", "b"]}}})
    args = beam_arguments(config, ["--project", "cli"])
    assert args == ["--project", "cli", "--region=europe-west4", "--streaming=false", "--experiments=a",
                    "--experiments=b"]


def test_worker_image_pins_move_together():
    dockerfile = (REPO / "docker" / "gpu-worker" / "Dockerfile").read_text()
    pyproject = (REPO / "pyproject.toml").read_text()
    beam = set(re.findall(r"ARG BEAM_VERSION=(\S+)", dockerfile))
    vllm = set(re.findall(r"ARG VLLM_VERSION=(\S+)", dockerfile))
    assert beam == set(re.findall(r'"apache-beam\[gcp\]==([^"]+)"', pyproject)) and len(beam) == 1
    assert vllm == {TESTED_VERSIONS[-1]} and f'"vllm{SUPPORTED}"' in pyproject  # the newest version checked
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in dockerfile
    import tomllib

    folders = tomllib.loads(pyproject)["tool"]["setuptools"]["package-dir"].values()
    assert [f for f in folders if f"COPY {f} ./{f}" not in dockerfile] == []  # the image holds every package
    assert "COPY --from=beam /opt/apache/beam /opt/apache/beam" in dockerfile


@needs_gcp
def test_an_install_without_source_or_image_says_how_to_ship_prefmill(monkeypatch):
    from prefmill.pipelines import runners

    monkeypatch.setattr(runners, "source_pyproject", lambda: None)
    config = load_config(REPO / "pipelines" / "configs" / "quickstart.yaml")
    config.input.path = "gs://prefmill-test-bucket/prompts.jsonl"
    with pytest.raises(ConfigError, match="--extra_package"):
        run_config(config, output="gs://prefmill-test-bucket/ds", beam_args=CLOUD, progress=False)


@pytest.mark.parametrize("args,message", [
    (["--project", "MY_PROJECT", "--temp_location", "gs://my-bucket/tmp"], "not a valid Google Cloud project id"),
    (["--project", "my-project", "--temp_location", "gs://MY_BUCKET/tmp"], "not a valid bucket name"),
])
def test_invalid_cloud_names_are_refused_before_beam(args, message):
    from prefmill.pipelines.config import validate_config
    from prefmill.pipelines.runners import make_pipeline
    from prefmill.schemas import ConfigError

    config = validate_config({"input": {"path": "gs://my-bucket/prompts.jsonl"}, "output": {"uri": "gs://my-bucket/ds"}})
    with pytest.raises(ConfigError, match=message):
        make_pipeline(config, ["--runner", "DataflowRunner", "--region", "us-central1", "--dry_run=True", *args],
                      "gs://my-bucket/ds")
