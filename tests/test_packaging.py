"""The distribution: root folders map into `prefmill`, nothing generic lands in site-packages, the
README's commands are the ones CI runs, and every config key is documented."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile

import pytest
from pydantic import BaseModel

from support import REPO

ROOTS = {folder: namespace for namespace, folder in
         tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].items()}
# What each layer may import: data flows schemas <- transforms <- pipelines; the storage layer (dataset)
# is used by pipelines and the CLI, and uses only schemas.
MAY_IMPORT = {
    "prefmill.schemas": {"prefmill.schemas"},
    "prefmill.transforms": {"prefmill.schemas", "prefmill.transforms"},
    "prefmill.dataset": {"prefmill.schemas", "prefmill.dataset"},
    "prefmill.pipelines": {"prefmill.schemas", "prefmill.transforms", "prefmill.dataset", "prefmill.pipelines"},
}


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for root, namespace in ROOTS.items():
        for init in (REPO / root).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / root).parts
            found.add(".".join((namespace, *rel)))
    assert found == listed


def test_layers_import_only_what_they_may():
    import ast

    assert set(ROOTS.values()) == set(MAY_IMPORT)
    wrong = []
    for folder, namespace in ROOTS.items():
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
                for name in names:
                    layer = ".".join(name.split(".")[:2])
                    if name.startswith("prefmill.") and layer not in MAY_IMPORT[namespace]:
                        wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert wrong == []


@pytest.mark.slow
def test_wheel_holds_only_the_prefmill_namespace(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True)
    wheel = next(tmp_path.glob("prefmill-*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"prefmill", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "prefmill/pipelines/configs/quickstart.yaml" in names
    assert "prefmill/transforms/verify/math_answer.py" in names


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- setup-commands -->\s*```bash\n(.*?)```", text, re.S)
    assert block, "README needs the setup-commands block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_them():
    commands = readme_commands()
    assert len(commands) == 2
    quickstart, tests = commands
    assert "prefmill run pipelines/configs/quickstart.yaml" in quickstart and "prefmill sql" in quickstart
    assert "pytest" in tests
    ci = (REPO / ".ci" / "run").read_text()
    assert quickstart in ci and tests in ci


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        out.append(path)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(_keys(annotation, path + "."))
    return out


def test_every_config_key_is_in_the_readme_reference():
    from prefmill.pipelines.config import PrefmillConfig

    text = (REPO / "README.md").read_text()
    missing = [key for key in _keys(PrefmillConfig) if f"`{key}`" not in text]
    assert missing == []
