"""IFEval's reference checkers (Google's, as shipped in lm-evaluation-harness), loaded offline as a test oracle.

The checkers live in the ``lm_eval`` wheel at ``lm_eval/tasks/ifeval/``:
``instructions.py``, ``instructions_registry.py`` and ``instructions_util.py``.
Importing them the normal way runs ``lm_eval/__init__.py`` and
``lm_eval/tasks/__init__.py``, which pull in torch-free but still heavy
dependencies (datasets, evaluate, sacrebleu, scikit-learn, ...). This module
loads just those files by path, so the wheel can be installed with
``--no-deps``:

    pip install --no-deps -r tests/reference-packages.txt
    pip install langdetect==1.0.9 immutabledict==4.3.1 nltk==3.10.4 packaging

* ``lm_eval`` (--no-deps): the reference code; nothing of it is imported but
  the three ifeval files (and ``utils.py`` beside them, for a cross-check).
* ``langdetect``, ``immutabledict``, ``nltk`` (with its small deps: regex,
  click, joblib, tqdm, defusedxml) and ``packaging``: what those files import.
* ``llama-index-core`` (--no-deps): only for the NLTK data it ships under
  ``llama_index/core/_static/nltk_cache`` (``tokenizers/punkt_tab``); pip
  warns that its own dependencies are missing, which is harmless here. To
  keep it out of site-packages instead, ``pip download --no-deps
  llama-index-core==0.14.25 -d DIR`` and set PREFMILL_PUNKT_WHEEL to the
  wheel: the oracle extracts ``punkt_tab/english`` from it to a temp folder.
  ``nltk.download()`` cannot reach its server here, Debian has no nltk-data
  package, and ``instructions_util`` calls ``nltk.download("punkt_tab")`` at
  import time when ``tokenizers/punkt_tab`` is not found. Nothing of
  llama_index is imported: its data folder is located through
  ``importlib.metadata`` and appended to ``nltk.data.path``. An NLTK_DATA
  folder that already has ``tokenizers/punkt_tab`` works as well.

Which punkt the reference uses (lm_eval 0.4.13): ``instructions_util`` checks
for ``tokenizers/punkt_tab`` at import and ``count_sentences`` calls
``nltk.data.load("nltk:tokenizers/punkt/english.pickle")``; nltk >= 3.9
never unpickles that path but maps it to ``PunktTokenizer("english")``, which
reads ``punkt_tab/english``. So only ``punkt_tab`` is needed (the old
``punkt`` pickles are not). ``nltk.word_tokenize`` (used by
change_case:capital_word_frequency) needs ``punkt_tab`` too.

langdetect is not seeded by the reference, so its verdicts on short or mixed
text change from run to run. ``load_reference`` sets
``langdetect.DetectorFactory.seed = 0`` (override with ``langdetect_seed``).

The strict and loose verdicts follow ``lm_eval/tasks/ifeval/utils.py``
(``test_instruction_following_strict`` / ``_loose``) line for line; see
``reference_verdict``. ``reference_utils_verdict`` runs that file's own
functions, to check this port against it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import types
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

LM_EVAL_VERSION = "0.4.13"
INSTALL_LINE = (
    "pip install --no-deps -r tests/reference-packages.txt && "
    "pip install langdetect==1.0.9 immutabledict==4.3.1 nltk==3.10.4 packaging"
)

_PKG = "lm_eval.tasks.ifeval"
_FILES = ("instructions_util", "instructions", "instructions_registry")
_WHEEL_DIR = "lm_eval/tasks/ifeval/"
_PUNKT = "tokenizers/punkt_tab/english/"
_LOADED: dict[str, dict[str, types.ModuleType]] = {}
_EXTRACTED: dict[str, Path] = {}


def _missing(what: str) -> ImportError:
    return ImportError(f"IFEval reference oracle unavailable: {what}. Install it with:\n    {INSTALL_LINE}")


def _ifeval_dir(path: str | os.PathLike | None) -> Path:
    """The folder holding the three ifeval files: from `path` (a wheel, a folder) or the installed lm_eval."""
    if path is None:
        path = os.environ.get("PREFMILL_IFEVAL_REF") or None
    if path is None:
        spec = importlib.util.find_spec("lm_eval")  # top level: finds, does not import
        if spec is None or not spec.submodule_search_locations:
            raise _missing("the lm_eval package is not installed")
        candidates = [Path(p) / "tasks" / "ifeval" for p in spec.submodule_search_locations]
    else:
        p = Path(path)
        if p.is_file() and zipfile.is_zipfile(p):
            return _extract_wheel(p)
        candidates = [p, p / "tasks" / "ifeval", p / "lm_eval" / "tasks" / "ifeval"]
    for c in candidates:
        if all((c / f"{name}.py").is_file() for name in _FILES):
            return c
    raise _missing(f"no {', '.join(n + '.py' for n in _FILES)} under {[str(c) for c in candidates]}")


def _extract_wheel(wheel: Path) -> Path:
    """Extracts lm_eval/tasks/ifeval/*.py from a wheel (or any zip laid out like one) to a temp folder, once."""
    key = str(wheel.resolve())
    if key in _EXTRACTED:
        return _EXTRACTED[key]
    out = Path(tempfile.mkdtemp(prefix="ifeval_ref_"))
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.startswith(_WHEEL_DIR) and n.count("/") == 3 and n.endswith(".py")]
        if not names:
            raise _missing(f"{wheel} holds no {_WHEEL_DIR}")
        for n in names:
            (out / n.rsplit("/", 1)[1]).write_bytes(zf.read(n))
    _EXTRACTED[key] = out
    return out


def _ensure_punkt_tab() -> None:
    """Makes nltk find tokenizers/punkt_tab offline, or raises ImportError (never downloads)."""
    import nltk

    try:
        nltk.data.find(_PUNKT)
        return
    except LookupError:
        pass
    try:
        cache = Path(str(metadata.distribution("llama-index-core").locate_file("llama_index/core/_static/nltk_cache")))
    except metadata.PackageNotFoundError:
        cache = None
    wheel = os.environ.get("PREFMILL_PUNKT_WHEEL")
    if (cache is None or not (cache / _PUNKT).is_dir()) and wheel:
        cache = _extract_punkt(Path(wheel))
    if cache is not None and (cache / _PUNKT).is_dir():
        if str(cache) not in nltk.data.path:
            nltk.data.path.append(str(cache))
        try:
            nltk.data.find(_PUNKT)
            return
        except LookupError:
            pass
    raise _missing("nltk data tokenizers/punkt_tab is not found (set NLTK_DATA, install llama-index-core, which ships it, or point PREFMILL_PUNKT_WHEEL at its wheel)")


def _extract_punkt(wheel: Path) -> Path | None:
    """Extracts .../tokenizers/punkt_tab/english/* from a zip (e.g. a llama_index_core wheel) to a temp nltk_data."""
    if not (wheel.is_file() and zipfile.is_zipfile(wheel)):
        return None
    out = Path(tempfile.mkdtemp(prefix="ifeval_nltk_"))
    with zipfile.ZipFile(wheel) as zf:
        for n in zf.namelist():
            _, sep, tail = n.partition(_PUNKT)
            if sep and tail and not tail.endswith("/"):
                dest = out / _PUNKT / tail
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(n))
    return out


def _check_deps() -> None:
    for mod in ("nltk", "langdetect", "immutabledict", "packaging"):
        if importlib.util.find_spec(mod) is None:
            raise _missing(f"the {mod} package is not installed")
    from packaging.version import parse

    have = metadata.version("nltk")
    if parse(have) < parse("3.9.1"):  # instructions_util asserts this at import
        raise _missing(f"nltk {have} is older than 3.9.1")
    _ensure_punkt_tab()


def _load_modules(folder: Path) -> dict[str, types.ModuleType]:
    """Executes the ifeval files as lm_eval.tasks.ifeval.* without importing lm_eval or lm_eval.tasks.

    The files import each other as ``from lm_eval.tasks.ifeval import X``; a
    stand-in package module for ``lm_eval.tasks.ifeval`` sits in sys.modules
    while they load and is taken out afterwards (with whatever it displaced
    put back), so a real ``import lm_eval`` later is not affected.
    """
    key = str(folder.resolve())
    if key in _LOADED:
        return _LOADED[key]
    names = list(_FILES) + (["utils"] if (folder / "utils.py").is_file() else [])
    touched = [_PKG] + [f"{_PKG}.{n}" for n in names]
    saved = {n: sys.modules[n] for n in touched if n in sys.modules}
    pkg = types.ModuleType(_PKG)
    pkg.__path__ = [str(folder)]
    pkg.__package__ = _PKG
    sys.modules[_PKG] = pkg
    loaded: dict[str, types.ModuleType] = {}
    try:
        for name in names:
            full = f"{_PKG}.{name}"
            spec = importlib.util.spec_from_file_location(full, folder / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[full] = module
            spec.loader.exec_module(module)
            setattr(pkg, name, module)
            loaded[name] = module
    finally:
        for n in touched:
            sys.modules.pop(n, None)
        sys.modules.update(saved)
    _LOADED[key] = loaded
    return loaded


def load_reference(path: str | os.PathLike | None = None, langdetect_seed: int | None = 0) -> dict[str, type]:
    """IFEval's registry (instruction id -> checker class), loaded from the reference files.

    `path`: a lm_eval wheel, an ``lm_eval`` package folder, a site-packages
    folder, or the ifeval folder itself; default: $PREFMILL_IFEVAL_REF, else
    the installed lm_eval (found without importing it). Raises ImportError
    with the pip line when the reference or its dependencies are missing.
    """
    folder = _ifeval_dir(path)
    _check_deps()
    modules = _load_modules(folder)
    if langdetect_seed is not None:
        import langdetect

        langdetect.DetectorFactory.seed = langdetect_seed
    return modules["instructions_registry"].INSTRUCTION_DICT


def reference_modules(path: str | os.PathLike | None = None) -> dict[str, types.ModuleType]:
    """The loaded reference modules by short name (instructions_util, instructions, instructions_registry, utils)."""
    load_reference(path)
    return _LOADED[str(_ifeval_dir(path).resolve())]


def _checker(registry: dict[str, type], instruction_id: str, kwargs: dict[str, Any] | None, prompt: str):
    """Builds one checker exactly as utils.py does."""
    instruction_cls = registry[instruction_id]
    instruction = instruction_cls(instruction_id)
    # utils.py: "Remove None values from kwargs" -- it drops every falsy value (0, "", []) too, and a
    # dropped value makes build_description draw a random default.
    kwargs = {k: v for k, v in (kwargs or {}).items() if v}
    instruction.build_description(**kwargs)
    args = instruction.get_instruction_args()
    if args and "prompt" in args:  # no registered checker has a `prompt` arg in 0.4.13: kept for fidelity
        instruction.build_description(prompt=prompt)
    return instruction


def loose_variants(response: str) -> list[str]:
    """The 8 responses loose mode tries, in utils.py's order."""
    r = response.split("\n")
    response_remove_first = "\n".join(r[1:]).strip()
    response_remove_last = "\n".join(r[:-1]).strip()
    response_remove_both = "\n".join(r[1:-1]).strip()
    revised_response = response.replace("*", "")
    revised_response_remove_first = response_remove_first.replace("*", "")
    revised_response_remove_last = response_remove_last.replace("*", "")
    revised_response_remove_both = response_remove_both.replace("*", "")
    return [
        response,
        revised_response,
        response_remove_first,
        response_remove_last,
        response_remove_both,
        revised_response_remove_first,
        revised_response_remove_last,
        revised_response_remove_both,
    ]


def reference_verdict(
    instruction_id: str,
    kwargs: dict[str, Any] | None,
    response: str,
    prompt: str = "",
    *,
    registry: dict[str, type] | None = None,
) -> dict[str, bool]:
    """{"strict": bool, "loose": bool} for one instruction, as lm_eval's ifeval utils.py computes them.

    strict: ``response.strip() and checker.check_following(response)``.
    loose: the same test on any of ``loose_variants(response)``. A fresh
    checker is built for each mode, as utils.py does (EndChecker rewrites
    its own state in check_following).
    """
    registry = registry if registry is not None else load_reference()
    strict_checker = _checker(registry, instruction_id, kwargs, prompt)
    strict = bool(response.strip() and strict_checker.check_following(response))
    loose_checker = _checker(registry, instruction_id, kwargs, prompt)
    loose = False
    for r in loose_variants(response):
        if r.strip() and loose_checker.check_following(r):
            loose = True
            break
    return {"strict": strict, "loose": loose}


def reference_utils_verdict(
    instruction_id: str, kwargs: dict[str, Any] | None, response: str, prompt: str = "", path=None
) -> dict[str, bool]:
    """The same verdict from utils.py's own test_instruction_following_strict/_loose (a cross-check)."""
    modules = reference_modules(path)
    if "utils" not in modules:
        raise _missing("utils.py is not beside the ifeval files")
    utils = modules["utils"]
    inp = utils.InputExample(key=0, instruction_id_list=[instruction_id], prompt=prompt, kwargs=[dict(kwargs or {})])
    return {
        "strict": utils.test_instruction_following_strict(inp, response).follow_instruction_list[0],
        "loose": utils.test_instruction_following_loose(inp, response).follow_instruction_list[0],
    }
