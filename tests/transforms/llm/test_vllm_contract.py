"""The vLLM handler against the real vLLM package, without a GPU: the wheels at both ends of the supported
range are downloaded without their dependencies (`pip download --no-deps`, kept in a cache between runs) and
every name, parameter and field the handler uses is looked up in their source with `ast`. Nothing of vLLM
is imported (it needs CUDA builds of torch); the real engine runs in the `gpu` test of test_vllm_seams.py.

What is checked, each derived from the handler itself where it can be:
- the arguments `engine_kwargs` builds (every option set) are `LLM.__init__` parameters or `EngineArgs`
  fields (LLM passes its **kwargs on to EngineArgs);
- the keywords `to_vllm_sampling` and the scoring call pass are `SamplingParams` fields, and
  `StructuredOutputsParams` takes `json`;
- the keywords of every `.chat(...)` and `.generate(...)` call in the handler's source are parameters of
  `LLM.chat` / `LLM.generate`, and `LLM.get_tokenizer` exists;
- `vllm` exports LLM, SamplingParams and TokensPrompt; `vllm.inputs` exports TokensPrompt with
  `prompt_token_ids`;
- the result fields the parsers read exist on RequestOutput, CompletionOutput and Logprob.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from prefmill.transforms.llm import vllm_handler
from prefmill.transforms.llm.options import VLLMOptions
from prefmill.transforms.llm.requests import SamplingParams

CACHE = Path(os.environ.get("PREFMILL_WHEEL_CACHE", Path.home() / ".cache" / "prefmill-tests" / "wheels"))
# result fields the parsers read (parse_output, parse_score, _logprob_of)
RESULT_FIELDS = {"RequestOutput": {"outputs", "prompt_token_ids", "prompt_logprobs"},
                 "CompletionOutput": {"text", "token_ids", "finish_reason", "logprobs"},
                 "Logprob": {"logprob"}}


class Source:
    """The Python files of one vLLM wheel, parsed on demand."""

    def __init__(self, wheel: Path) -> None:
        self.zip = zipfile.ZipFile(wheel)
        self.trees: dict[str, ast.Module] = {}

    def tree(self, path: str) -> ast.Module:
        if path not in self.trees:
            self.trees[path] = ast.parse(self.zip.read(path).decode())
        return self.trees[path]

    def cls(self, path: str, name: str) -> ast.ClassDef:
        found = [n for n in self.tree(path).body if isinstance(n, ast.ClassDef) and n.name == name]
        assert found, f"{path} defines no class {name}"
        return found[0]

    def fields(self, path: str, name: str) -> set[str]:
        """Annotated class attributes (dataclass, msgspec or TypedDict fields), the bases' included when
        they are defined in the same file."""
        node = self.cls(path, name)
        names = {s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
        for base in node.bases:
            if isinstance(base, ast.Name) and any(isinstance(n, ast.ClassDef) and n.name == base.id
                                                  for n in self.tree(path).body):
                names |= self.fields(path, base.id)
        return names

    def method(self, path: str, cls: str, name: str) -> ast.FunctionDef:
        found = [n for n in self.cls(path, cls).body if isinstance(n, ast.FunctionDef) and n.name == name]
        assert found, f"{cls} has no method {name}"
        return found[0]

    def params(self, path: str, cls: str, name: str) -> set[str]:
        args = self.method(path, cls, name).args
        return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}

    def has_var_kwargs(self, path: str, cls: str, name: str) -> bool:
        return self.method(path, cls, name).args.kwarg is not None

    def exported(self, path: str) -> set[str]:
        """Names in the module's __all__."""
        for node in self.tree(path).body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
                return {ast.literal_eval(e) for e in node.value.elts}
        return set()


def _wheel(version: str) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob(f"vllm-{version}-*.whl"))
    if not found:
        fetched = subprocess.run([sys.executable, "-m", "pip", "download", f"vllm=={version}", "--no-deps",
                                  "--only-binary", ":all:", "-d", str(CACHE), "-q"], capture_output=True, text=True,
                                 timeout=900)
        found = sorted(CACHE.glob(f"vllm-{version}-*.whl"))
        if not found:
            pytest.fail(f"could not download vllm=={version} from the package index: {fetched.stderr[-800:]}")
    return found[0]


@pytest.fixture(scope="module", params=vllm_handler.TESTED_VERSIONS)
def vllm_source(request) -> Source:
    return Source(_wheel(request.param))


class Recorder:
    """Stands in for the vllm module only to record the keywords the handler's helpers pass."""

    def __init__(self) -> None:
        self.calls: dict[str, dict] = {}
        outer = self

        class Namespace:
            @staticmethod
            def StructuredOutputsParams(**kwargs):
                outer.calls["StructuredOutputsParams"] = kwargs

        self.sampling_params = Namespace

    def SamplingParams(self, **kwargs):
        self.calls["SamplingParams"] = kwargs


def _handler_calls(method: str) -> set[str]:
    """Keywords of every `<x>.<method>(...)` call in the handler's source."""
    tree = ast.parse(Path(vllm_handler.__file__).read_text())
    return {k.arg for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == method for k in node.keywords if k.arg}


def test_the_supported_range_is_the_extra_and_its_ends_are_tested():
    import tomllib

    from support import REPO

    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["vllm"]
    assert extra == [f"vllm{vllm_handler.SUPPORTED}"]
    low, high = vllm_handler.SUPPORTED.replace(">=", "").split(",<")
    assert vllm_handler.TESTED_VERSIONS[0].startswith(low) and vllm_handler.TESTED_VERSIONS[-1] < high


def test_engine_arguments_exist(vllm_source):
    every = VLLMOptions(tensor_parallel_size=2, dtype="bfloat16", quantization="awq", max_model_len=4096,
                        gpu_memory_utilization=0.8, enable_prefix_caching=True, enforce_eager=True, seed=3)
    kwargs = set(vllm_handler.engine_kwargs("org/model", every))
    llm = "vllm/entrypoints/llm.py"
    direct = vllm_source.params(llm, "LLM", "__init__")
    assert vllm_source.has_var_kwargs(llm, "LLM", "__init__")
    engine_args = vllm_source.fields("vllm/engine/arg_utils.py", "EngineArgs")
    assert kwargs - direct <= engine_args, kwargs - direct - engine_args
    assert {"enable_prefix_caching", "max_model_len"} <= engine_args


def test_sampling_and_structured_output_fields_exist(vllm_source):
    recorder = Recorder()
    params = SamplingParams(temperature=0.5, top_p=0.9, max_tokens=8, seed=1, stop=["x"], logprobs=True,
                            json_schema={"type": "object"})
    vllm_handler.to_vllm_sampling(params, 2, recorder)
    fields = vllm_source.fields("vllm/sampling_params.py", "SamplingParams")
    assert set(recorder.calls["SamplingParams"]) <= fields, set(recorder.calls["SamplingParams"]) - fields
    assert set(vllm_handler.SCORE_SAMPLING) <= fields
    assert set(recorder.calls["StructuredOutputsParams"]) <= vllm_source.fields("vllm/sampling_params.py",
                                                                                  "StructuredOutputsParams")


def test_engine_methods_and_their_keywords_exist(vllm_source):
    llm = "vllm/entrypoints/llm.py"
    assert _handler_calls("chat") <= vllm_source.params(llm, "LLM", "chat")
    assert _handler_calls("generate") <= vllm_source.params(llm, "LLM", "generate")
    assert {"use_tqdm", "sampling_params", "chat_template"} <= _handler_calls("chat")  # the scan found the call
    vllm_source.method(llm, "LLM", "get_tokenizer")


def test_exports_and_result_fields_exist(vllm_source):
    init = ast.unparse(vllm_source.tree("vllm/__init__.py"))
    for name in ("LLM", "SamplingParams"):
        assert f"'{name}'" in init or f'"{name}"' in init
    assert "TokensPrompt" in vllm_source.exported("vllm/inputs/__init__.py")
    assert "prompt_token_ids" in vllm_source.fields("vllm/inputs/llm.py", "TokensPrompt")
    request_output = vllm_source.params("vllm/outputs.py", "RequestOutput", "__init__")
    assert RESULT_FIELDS["RequestOutput"] <= request_output
    assert RESULT_FIELDS["CompletionOutput"] <= vllm_source.fields("vllm/outputs.py", "CompletionOutput")
    assert RESULT_FIELDS["Logprob"] <= vllm_source.fields("vllm/logprobs.py", "Logprob")


def test_a_renamed_parameter_is_caught(vllm_source):
    """The check can fail: 0.10's `guided_decoding` keyword is not a field of the current SamplingParams."""
    fields = vllm_source.fields("vllm/sampling_params.py", "SamplingParams")
    assert "guided_decoding" not in fields and "structured_outputs" in fields
