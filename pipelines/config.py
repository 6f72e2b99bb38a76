"""The run configuration: one YAML file, validated by these pydantic models before any work starts.

Each stage owns its config model (next to its code in transforms/); this module groups them under the
keys a user writes. An unknown or misspelled key, a wrong type or a missing input file fails here with
the key's full path and the fix.
"""

from __future__ import annotations

import difflib
import glob
import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from prefmill.schemas import ConfigError
from prefmill.dataset.layout import is_remote
from prefmill.transforms.annotate import AnnotateConfig
from prefmill.transforms.density_ratio import DensityRatioConfig
from prefmill.transforms.generate import GenerateConfig
from prefmill.transforms.judge import JudgeConfig
from prefmill.transforms.llm.registry import BACKENDS, capability_problems
from prefmill.transforms.pairs import PairsConfig
from prefmill.transforms.read import InputConfig
from prefmill.transforms.rise import InjectConfig
from prefmill.transforms.route import RouteConfig
from prefmill.transforms.verify import VerifyConfig


class OutputConfig(BaseModel):
    """Where the dataset lives."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(description="dataset path or bucket URI; each run adds one version (override: --output)")
    mode: Literal["overwrite", "append"] = Field(
        "overwrite",
        description="overwrite: each version holds exactly one run's pairs; append: a version adds to the previous one",
    )
    rows_per_file: int = Field(100_000, gt=0, description="rows per Parquet part file")
    max_infra_loss: float = Field(
        0.5, ge=0.0, le=1.0, description="refuse to commit a run that lost more than this share of its prompts "
        "to infrastructure failures (connection errors, timeouts, HTTP errors, sandbox failures); --allow-partial "
        "commits anyway")


class DataflowConfig(BaseModel):
    """Worker settings for DataflowRunner; used only when the runner is DataflowRunner."""

    model_config = ConfigDict(extra="forbid")

    machine_type: Optional[str] = Field(None, description="worker VM type, e.g. n2-standard-4, or g2-standard-8 for one L4 GPU")
    max_num_workers: Optional[int] = Field(None, gt=0, description="autoscaling ceiling")
    disk_size_gb: Optional[int] = Field(None, gt=0, description="worker boot disk; GPU images need 50+")
    worker_accelerator: Optional[str] = Field(
        None, description='GPUs per worker in Dataflow syntax, e.g. "type:nvidia-l4;count:1;install-nvidia-driver"')
    sdk_container_image: Optional[str] = Field(
        None, description="worker image that already holds prefmill (and vLLM for GPU runs): see docker/gpu-worker")
    one_sdk_process_per_worker: bool = Field(
        False, description="run one Python SDK process per VM, so a GPU holds one copy of the model")

    @model_validator(mode="after")
    def _gpu_needs_container(self) -> "DataflowConfig":
        if self.worker_accelerator and not self.sdk_container_image:
            raise ValueError("worker_accelerator needs sdk_container_image: GPU workers run an image with CUDA, vLLM "
                             "and prefmill; build docker/gpu-worker/Dockerfile and push it (see the README)")
        if self.worker_accelerator and "type:" not in self.worker_accelerator:
            raise ValueError(f"worker_accelerator {self.worker_accelerator!r} is not in Dataflow syntax, e.g. "
                             "'type:nvidia-l4;count:1;install-nvidia-driver'")
        return self


class RunnerConfig(BaseModel):
    """How the job runs: local workers, Beam options, and Dataflow workers."""

    model_config = ConfigDict(extra="forbid")

    direct_num_workers: int = Field(1, ge=0, description="local worker count; 0 uses every core")
    direct_running_mode: Literal["in_memory", "multi_threading", "multi_processing"] = Field(
        "in_memory", description="how local workers run; multi_processing uses several cores (multi_threading "
                                 "with several workers is refused: it lost rows in FnApiRunner)"
    )
    small_input_rows: int = Field(
        64, ge=0, description="a local input with at most this many rows runs on one in-process worker whatever "
                              "direct_num_workers says (worker processes take seconds to start); 0 = never")
    options: dict[str, Union[str, int, float, bool, list[str]]] = Field(
        default_factory=dict,
        description="Beam pipeline options, e.g. {runner: DataflowRunner, project: P, region: R, temp_location: gs://B/tmp}; "
                    "the same option on the command line wins",
    )
    dataflow: DataflowConfig = Field(default_factory=DataflowConfig)


class PrefmillConfig(BaseModel):
    """A whole run: input -> generate -> verify -> inject -> judge -> pairs -> route -> output."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("prefmill-run", description="a label for the run, stored in commit metadata")
    input: InputConfig
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    inject: InjectConfig = Field(default_factory=InjectConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    density_ratio: DensityRatioConfig = Field(default_factory=DensityRatioConfig)
    pairs: PairsConfig = Field(default_factory=PairsConfig)
    annotate: AnnotateConfig = Field(default_factory=AnnotateConfig)
    route: RouteConfig = Field(default_factory=RouteConfig)
    output: OutputConfig
    runner: RunnerConfig = Field(default_factory=RunnerConfig)

    def data_hash(self) -> str:
        """Hash of everything that shapes the data (not where it goes or how it runs locally)."""
        body = _without_later_defaults(self.model_dump(mode="json", exclude={"output", "runner", "name"}))
        body["plugins"] = data_plugins()  # an installed verifier or strategy changes labels: it is in the hash
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def calls_models(self) -> bool:
        """Whether any stage calls an LLM (generation, self-edits, judges, the routing tagger)."""
        return (self.generate.mode != "recorded" or (self.inject.enabled and self.inject.method == "llm")
                or self.judge.enabled or (self.route.enabled and self.route.tagger is not None)
                or self.density_ratio.enabled or self.annotate.enabled)


# Settings added after configs were first hashed, with the default that leaves the data as it was: left out
# of the hash at that default, so a config that does not use them keeps the hash (and `config_hash`) it had.
_LATER_SECTIONS = ("density_ratio", "annotate")
_LATER_KEYS = {"input": {"label_source": None}, "pairs": {"min_density_margin": 0.0}}
_LATER_ENTRY_KEYS = {"sampling": {"logprobs": False}, "vllm": {"quantization": None, "enable_prefix_caching": True},
                     "openai": {"scoring": False, "adaptive_concurrency": True, "min_concurrency": 1,
                                "machine_concurrency": None}}
_OLD_DELTA_DOMAINS = ["math", "code", "instruction", "chat"]  # unset now means every domain; these were all


def _without_later_defaults(body: dict) -> dict:
    for section in _LATER_SECTIONS:
        if not body.get(section, {}).get("enabled"):
            body.pop(section, None)
    for section, keys in _LATER_KEYS.items():
        for key, default in keys.items():
            if body.get(section, {}).get(key, "absent") == default:
                body[section].pop(key)
    if body.get("pairs", {}).get("delta_domains", "absent") is None:
        body["pairs"]["delta_domains"] = _OLD_DELTA_DOMAINS

    def visit(node):
        if isinstance(node, dict):
            if "backend" in node and "sampling" in node:  # a model entry
                for part, keys in _LATER_ENTRY_KEYS.items():
                    for key, default in keys.items():
                        if isinstance(node.get(part), dict) and node[part].get(key, "absent") == default:
                            node[part].pop(key)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)
    visit(body)
    return body


def data_plugins() -> list[str]:
    """The installed plugins that shape the data: backends, verifiers and pair strategies (export formats
    only shape files written later)."""
    import prefmill.transforms.pairs.registry  # noqa: F401  (each registry loads its group at import)
    import prefmill.transforms.verify.registry  # noqa: F401  (loads the verifier plugins)
    from prefmill.schemas.plugins import loaded_plugins

    return [p for p in loaded_plugins() if not p.startswith("prefmill.export_formats:")]


def _members(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation may hold: X, Optional[X], a union of models, Annotated[union, ...]."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) is Union:
        return [m for a in get_args(annotation) for m in _members(a)]
    return [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _walk(loc: tuple) -> tuple[Optional[type[BaseModel]], list[str]]:
    """The model at an error location, and the location as the user wrote it (pydantic puts the tag of a
    discriminated union, e.g. `openai` for a model entry's backend, in the path; the user never wrote it)."""
    model: Any = PrefmillConfig
    shown: list[str] = []
    for index, part in enumerate(loc):
        if get_origin(model) is Annotated:
            model = get_args(model)[0]
        if isinstance(part, int) and get_origin(model) is list:  # generate.models.0: the list's item
            model = get_args(model)[0]
            shown.append(str(part))
            continue
        members = _members(model)
        tagged = [m for m in members if "backend" in m.model_fields
                  and get_args(m.model_fields["backend"].annotation) == (part,)]
        if len(members) > 1 and tagged:  # the union's tag: pick that member, do not show it
            model = tagged[0]
            continue
        model = members[0] if len(members) == 1 else model
        shown.append(str(part))
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None, shown + [str(p) for p in loc[index + 1:]]
        model = model.model_fields[part].annotation
    members = _members(model)
    return (members[0] if len(members) == 1 else None), shown


def _model_at(loc: tuple) -> Optional[type[BaseModel]]:
    return _walk(loc)[0]


def _explain(err: dict) -> str:
    loc = tuple(err["loc"])
    path = ".".join(_walk(loc)[1]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = sorted(parent.model_fields) if parent else []
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" Did you mean '{guess[0]}'?" if guess else ""
        backend = get_args(parent.model_fields["backend"].annotation) if parent and "backend" in parent.model_fields else ()
        where = f" for backend {backend[0]}" if backend else ""
        return f"{path}: unknown key{where}.{hint} Known keys here: {', '.join(known)}."
    if kind == "missing":
        parent = _model_at(loc[:-1])
        help_text = ""
        if parent is not None and loc[-1] in parent.model_fields:
            help_text = parent.model_fields[loc[-1]].description or ""
        return f"{path}: required key is missing. Add it ({help_text})." if help_text else f"{path}: required key is missing."
    if kind in ("union_tag_invalid", "union_tag_not_found"):  # a model entry's backend
        ctx = err.get("ctx") or {}
        return (f"{path}.{ctx.get('discriminator', 'backend').strip(chr(39))}: "
                + (f"{ctx.get('tag')!r} is not a backend; " if kind == "union_tag_invalid" else "required; ")
                + f"use one of {', '.join(BACKENDS)} (TGI, SGLang, vllm serve and hosted APIs are openai).")
    got = err.get("input")
    shown = json.dumps(got, default=str) if not isinstance(got, dict) else "a mapping"
    return f"{path}: {err['msg']} (got {shown[:80]})."


def validate_config(data: Any, source: str = "config") -> PrefmillConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys (input, output, ...), got {type(data).__name__}")
    try:
        config = PrefmillConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_explain(err) for err in exc.errors()]
        raise ConfigError(f"{source} is invalid:\n  - " + "\n  - ".join(lines)) from None
    _check_input_exists(config.input, source)
    idle = idle_problems(config)
    if idle:
        raise ConfigError(f"{source} would run stages whose work is thrown away:\n  - " + "\n  - ".join(idle))
    pools = pool_problems(config)
    if pools:
        raise ConfigError(f"{source}:\n  - " + "\n  - ".join(pools))
    return config


def pool_problems(config: "PrefmillConfig") -> list[str]:
    """Entries calling one server must agree on `openai.machine_concurrency`: the machine has one pool of
    slots per server, and two sizes would make two pools, each allowed its full size at once."""
    from prefmill.transforms.llm.machine_slots import server_key

    sizes: dict[str, dict[Any, list[str]]] = {}
    for spec, _, where in model_uses(config):
        options = getattr(spec, "openai", None)
        if spec.backend == "openai" and options is not None:
            url = server_key(options.base_url)
            sizes.setdefault(url, {}).setdefault(options.machine_concurrency, []).append(where)
    return [f"entries calling {url} disagree on openai.machine_concurrency ("
            + "; ".join(f"{size}: {', '.join(places)}" for size, places in by_size.items())
            + "): set the same value on each, the most requests in flight to that server from one machine"
            for url, by_size in sizes.items() if len(by_size) > 1]


def model_uses(config: "PrefmillConfig") -> list[tuple[Any, set[str], str]]:
    """Every model entry of the config: (entry, the capabilities its stage needs, where it is)."""
    uses = [(m, set(), f"generate.models.{i}") for i, m in enumerate(config.generate.models)]
    uses += [(m, {"structured_output"}, f"judge.models.{i}") for i, m in enumerate(config.judge.models)]
    if config.inject.model is not None:
        uses.append((config.inject.model, set(), "inject.model"))
    if config.route.tagger is not None:
        uses.append((config.route.tagger, {"structured_output"}, "route.tagger"))
    uses += [(m, {"structured_output"}, f"annotate.models.{i}") for i, m in enumerate(config.annotate.models)]
    for side in ("strong", "weak"):
        spec = getattr(config.density_ratio, side)
        if spec is not None:
            uses.append((spec, {"scoring"}, f"density_ratio.{side}"))
    return uses


def capability_problems_of(config: "PrefmillConfig") -> list[str]:
    """Model entries whose backend cannot do what their stage needs: judges and the tagger read structured
    answers (a JSON schema), and any entry with `sampling.stop` needs stop sequences."""
    return [problem for spec, needs, where in model_uses(config)
            for problem in capability_problems(spec, needs, where)]


def idle_problems(config: "PrefmillConfig") -> list[str]:
    """Combinations that validate key by key but silently produce nothing, each with its fix."""
    strategies, problems = set(config.pairs.strategies), []
    if config.inject.enabled and "self_edit" not in strategies:
        problems.append("inject.enabled: self-edits become pairs only through the self_edit strategy; add self_edit "
                        "to pairs.strategies, or set inject.enabled: false")
    ratio = config.density_ratio
    if ratio.enabled and (ratio.strong is None or ratio.weak is None):
        problems.append("density_ratio.enabled: set both density_ratio.strong and density_ratio.weak (model entries "
                        "whose backend can score: transformers, vllm, or openai with openai.scoring: true)")
    if ratio.enabled and "density_ratio" not in strategies:
        problems.append("density_ratio.enabled: the ratios become pairs only through the density_ratio strategy; "
                        "add density_ratio to pairs.strategies, or set density_ratio.enabled: false")
    if config.annotate.enabled and not config.annotate.models:
        problems.append("annotate.enabled: annotate.models is empty; add at least one model entry")
    if config.annotate.enabled and not (config.annotate.rationale or config.annotate.blind_check):
        problems.append("annotate.enabled with rationale and blind_check both false: nothing would be asked")
    if config.annotate.enabled and config.annotate.noise.action == "human_first" and not (
            config.route.enabled and config.route.budget > 0):
        problems.append("annotate.noise.action human_first sends suspected flips to humans under the routing "
                        "budget: set route.enabled: true and route.budget, or pick another action")
    if config.judge.enabled and not config.judge.models:
        problems.append("judge.enabled: judge.models is empty; add at least one model entry")
    if config.judge.enabled and "judged" not in strategies:
        problems.append("judge.enabled: judgments become pairs only through the judged strategy; add judged to "
                        "pairs.strategies, or set judge.enabled: false (every judge call would be paid for and "
                        "thrown away)")
    from prefmill.transforms.pairs.registry import idle_problems as pair_idle_problems

    problems += pair_idle_problems(config)
    problems += capability_problems_of(config)
    if not config.generate.cache.enabled:
        problems += [f"{where}: backend {spec.backend} keeps the ids of its submitted batches in the response cache, "
                     "so a rerun polls them instead of paying for them twice: set generate.cache.enabled: true"
                     for spec, _, where in model_uses(config) if BACKENDS[spec.backend].needs_cache]
    model_path = config.route.model_path
    if config.route.enabled and model_path and not is_remote(model_path) and not os.path.isfile(model_path):
        problems.append(f"route.model_path {model_path}: no such file (relative paths resolve against "
                        f"{os.getcwd()}); fit one with `prefmill route fit EXPERIMENTS.csv --out {model_path}`")
    return problems


def api_key_problems(config: "PrefmillConfig") -> list[tuple[str, bool]]:
    """(message, fatal) for every OpenAI-compatible endpoint whose `api_key_env` is not set: fatal for a
    remote server (every request would fail with 401), a warning for a local one (many need no key)."""
    from urllib.parse import urlparse

    problems, seen = [], set()

    def visit(node: Any) -> None:
        if isinstance(node, BaseModel):
            key_env, url = getattr(node, "api_key_env", None), getattr(node, "base_url", None)
            if key_env and url and (key_env, url) not in seen and not os.environ.get(key_env):
                seen.add((key_env, url))
                local = (urlparse(url).hostname or "") in ("localhost", "127.0.0.1", "::1", "0.0.0.0")
                problems.append((f"api_key_env {key_env} is not set in the environment (server {url}): "
                                 + ("requests go without a key" if local else
                                    f"export {key_env}=... before the run, or remove api_key_env if the server "
                                    "needs no key"), not local))
            for name in type(node).model_fields:
                visit(getattr(node, name))
        elif isinstance(node, (list, tuple)):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            for item in node.values():
                visit(item)

    visit(config)
    return problems


def backend_problems(config: "PrefmillConfig") -> list[str]:
    """What would make a model backend fail on its first batch, found before Beam starts: a missing vllm
    package, or a transformers model that is neither a local folder nor in the Hugging Face cache and
    cannot be fetched (offline)."""
    problems: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, BaseModel):
            backend, model = getattr(node, "backend", None), getattr(node, "model", None)
            if backend == "vllm" and not _installed("vllm"):
                problems.append(f"model {getattr(node, 'name', model)!r} uses backend vllm, which is not installed: "
                                "pip install 'prefmill[vllm]' on a machine with an NVIDIA GPU, or serve the model "
                                "with `vllm serve` and use backend openai")
            if backend == "transformers" and isinstance(model, str) and not _transformers_model_reachable(model):
                problems.append(f"transformers model {model!r} is not a local folder and not in the Hugging Face "
                                "cache, and the Hub cannot be reached: download it first (huggingface-cli download "
                                f"{model}) or give a local folder")
            for name in type(node).model_fields:
                visit(getattr(node, name))
        elif isinstance(node, (list, tuple)):
            for item in node:
                visit(item)

    visit(config)
    return problems


def _installed(module: str) -> bool:
    import importlib.util
    import sys

    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:
        return True


def _transformers_model_reachable(model: str) -> bool:
    if os.path.isdir(model):
        return True
    try:
        from huggingface_hub import file_exists, try_to_load_from_cache
    except ImportError:
        return True  # transformers is not installed: its own error names the extra to install
    try:
        if isinstance(try_to_load_from_cache(model, "config.json"), str):
            return True
    except ValueError:  # not a repo id either (a path that does not exist)
        return False
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        return bool(file_exists(model, "config.json"))
    except Exception:  # noqa: BLE001 - any network or Hub failure means "cannot fetch it now"
        return False


def _check_input_exists(cfg: InputConfig, source: str) -> None:
    if is_remote(cfg.path):
        return
    if cfg.format == "hf" and not os.path.exists(cfg.path):
        return  # a hub dataset name: resolved by datasets at run time
    looks_local = os.path.sep in cfg.path or cfg.path.startswith(".") or Path(cfg.path).suffix != ""
    if cfg.format == "auto" and not looks_local and not os.path.exists(cfg.path):
        return  # e.g. "org/dataset": a hub name for datasets.load_dataset
    if not glob.glob(cfg.path):
        raise ConfigError(
            f"{source}: input.path: no file matches '{cfg.path}' (relative paths resolve against the current "
            f"directory, {os.getcwd()}). Fix the path, or run prefmill from the folder it is relative to."
        )


def load_config(path: str | os.PathLike, *, input_path: str | None = None) -> PrefmillConfig:
    """Read and validate a YAML config file; `input_path` (the command line's --input) replaces the
    config's own input path before validation, so a config run from another folder is not refused for a
    path it will not use."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc}") from None
    if input_path is not None and isinstance(data, dict):
        data = {**data, "input": {**(data.get("input") or {}), "path": input_path}}
    return validate_config(data, source=str(path))
