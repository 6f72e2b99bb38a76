"""Reason codes are one list (schemas/reasons.py): the README's table is rendered from it, and every reason
the code can write (a Reject, a dead_letter, a self-edit Discard or Check, a DeadLetter, a reason
constant, a request failure's reason) is in it."""

from __future__ import annotations

import ast
import re

from prefmill.schemas.reasons import REASONS, known, reason_table

from support import REPO

# verdict reasons (correct, wrong_answer, ...) are not dead-letter reasons: they stay on the candidate
_CALLS = {"Reject": 0, "Discard": 1, "Check": 1, "dead_letter": 1, "_dead": 1}


def _written_reasons() -> set[str]:
    found = set()
    for folder in ("transforms", "pipelines", "dataset"):
        for path in (REPO / folder).rglob("*.py"):
            if "sandbox_runtime" in path.parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                    args = list(node.args)
                    if name in _CALLS and len(args) > _CALLS[name] and isinstance(args[_CALLS[name]], ast.Constant):
                        value = args[_CALLS[name]].value
                        if isinstance(value, str) and not (name == "Check" and args[0].value is not False):
                            found.add(value)
                    if name == "Reject" and args:  # Reject(a if x else "no_pair"): every literal it may take
                        found |= {n.value for n in ast.walk(args[0]) if isinstance(n, ast.Constant)
                                  and isinstance(n.value, str)}
                    if name in ("DeadLetter", "Reject", "LLMResponse", "_Failure"):
                        for kw in node.keywords:
                            if kw.arg == "reason" and isinstance(kw.value, ast.Constant):
                                found.add(kw.value.value)
                    if name == "_Failure" and len(args) > 1 and isinstance(args[1], ast.Constant):
                        found.add(args[1].value)
                if "pairs" in path.parts and isinstance(node, ast.Return) and node.value is not None:
                    # a strategy's reason: `return [], "no_failing_candidate"` or `return "unjudged"`
                    last = node.value.elts[-1] if isinstance(node.value, ast.Tuple) else node.value
                    if isinstance(last, ast.Constant) and isinstance(last.value, str) and last.value:
                        found.add(last.value)
    for module in ("parse.py", "generate.py", "llm/requests.py"):
        found |= set(re.findall(r'^[A-Z0-9_]+ = "([a-z0-9_]+)"', (REPO / "transforms" / module).read_text(), re.M))
    found.add(re.search(r'return response.reason or "([a-z_]+)"',
                        (REPO / "transforms" / "llm" / "inference.py").read_text()).group(1))
    found |= set(re.findall(r'"([a-z_]+)"', re.search(r"TIMEOUT, CONNECTION_ERROR.*", (
        REPO / "transforms" / "llm" / "openai_compat.py").read_text()).group()))
    return found


def test_the_readme_table_is_rendered_from_the_registry():
    assert reason_table() in (REPO / "README.md").read_text()


def test_every_reason_the_code_writes_is_registered():
    written = _written_reasons()
    assert sorted(r for r in written if not known(r)) == []
    registered = {code for codes in REASONS.values() for code in codes} - {"http_<status>"}
    assert sorted(registered - written) == []  # and nothing is listed that the code never writes


def test_registered_reasons_are_snake_case():
    for stage, codes in REASONS.items():
        assert all(re.fullmatch(r"[a-z0-9_]+(<status>)?", code) for code in codes), stage
