"""Extract (gold, pred, expected) cases from Math-Verify 0.9.0's own tests.

Run from the unpacked sdist root (math_verify-0.9.0/) with the venv python:
    cd /tmp/mvsrc/math_verify-0.9.0 && /tmp/mvenv/bin/python /tmp/mv_extract.py OUT.jsonl

Cases are collected with pytest itself (so every string is exactly what the
test passes at run time), then each case is re-run (a) through the upstream
helper with the helper's own options ("mv_helper") and (b) through the default
API verify(parse(gold), parse(pred)) ("mv_default").
"""
import json
import re
import sys

import pytest

OUT = sys.argv[1]

# How each test function calls into math_verify (read from tests/*.py, 0.9.0 sdist).
# helper: "compare_strings" = tests/test_all.py::compare_strings; "default" = verify(parse(g), parse(p)).
# Values given as a param name are taken from the parametrize row.
CALLS = {
    ("test_all.py", "test_number_extraction"): dict(helper="compare_strings", match_types=["expr"]),
    ("test_all.py", "test_simple_fraction_notation"): dict(helper="compare_strings", match_types=["latex", "expr"]),
    ("test_all.py", "test_sets_handling"): dict(helper="compare_strings", match_types=["latex", "expr"]),
    ("test_all.py", "test_latex_notation"): dict(helper="compare_strings", match_types=["latex"]),
    ("test_all.py", "test_percent_notation"): dict(helper="compare_strings", match_types=["latex", "expr"]),
    ("test_all.py", "test_latex_notation_math"): dict(helper="compare_strings", match_types=["latex"]),
    ("test_all.py", "test_relations_math"): dict(helper="compare_strings", match_types=["latex"]),
    ("test_all.py", "test_matrix_extraction"): dict(helper="compare_strings", match_types=["latex"]),
    ("test_all.py", "test_complex_math_expressions"): dict(helper="compare_strings", match_types=["latex", "expr"], precision="$precision"),
    ("test_all.py", "test_math_extraction_edge_cases"): dict(helper="compare_strings", match_types=["latex", "expr"]),
    ("test_all.py", "test_math_extraction_additional_cases"): dict(helper="compare_strings", match_types=["latex", "expr"]),
    ("test_all.py", "test_set_rel_assymetry"): dict(helper="compare_strings", match_types=["latex"], allow_set_relation_comp="$allow_set_relation_comp"),
    ("test_all.py", "test_float_precision"): dict(helper="compare_strings", match_types=["latex", "expr"], precision=5),
    ("test_all.py", "test_sqrt_precision"): dict(helper="compare_strings", match_types=["latex", "expr"], precision=5),
    ("test_all.py", "test_symbols"): dict(helper="compare_strings", match_types=["latex", "expr"], precision=5),
    ("test_boxed.py", "test_boxed"): dict(helper="compare_strings", match_types=["latex", "expr"]),
    ("test_numina_cases.py", "test_numina_cases"): dict(helper="compare_strings", match_types=["latex", "expr"]),
    ("test_open_thoughts.py", "test_open_thoughts"): dict(helper="compare_strings", match_types=["latex", "expr"]),
    ("test_strict.py", "test_strict_variable_comparison"): dict(helper="compare_strings", match_types=["latex", "expr"], strict="$strict"),
    ("test_yujianll.py", "test_string_extraction"): dict(helper="default"),
}
# Tests that carry no (gold, pred, verdict) triple: parse-only, mocks, or configs.
SKIP = {
    ("test_all.py", "test_precision"),  # handled by hand below (one compare_strings call)
    ("test_configs.py", "test_boxed_match_priority"),
    ("test_configs.py", "test_normalization_config"),
    ("test_gamma_func.py", "test_gamma_as_function"),
    ("test_gamma_func.py", "test_gamma_as_constant"),
    ("test_raise_on_error.py", "test_verify_raise_on_error"),
    ("test_string_extraction.py", "test_string_extraction"),
    ("test_timeout.py", "test_timeout_expr"),
    ("test_timeout.py", "test_timeout_latex"),
    ("test_timeout.py", "test_timeout_verify"),
}


class Collector:
    def __init__(self):
        self.items = []

    def pytest_collection_modifyitems(self, items):
        for it in items:
            fname = it.path.name
            func = it.originalname
            cs = getattr(it, "callspec", None)
            params = dict(cs.params) if cs else {}
            idx = sorted(set(cs.indices.values()))[0] if cs else None
            self.items.append((fname, func, idx, params))


col = Collector()
rc = pytest.main(["-q", "--collect-only", "-p", "no:cacheprovider", "tests"], plugins=[col])
assert rc == 0, rc

import math_verify  # noqa: E402
from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify  # noqa: E402

seen_funcs = {(f, fn) for f, fn, _, _ in col.items}
unknown = seen_funcs - set(CALLS) - SKIP
assert not unknown, f"unmapped test functions: {unknown}"

cases = []
for fname, func, idx, params in col.items:
    if (fname, func) in SKIP:
        continue
    spec = dict(CALLS[(fname, func)])
    for k, v in list(spec.items()):
        if isinstance(v, str) and v.startswith("$"):
            spec[k] = params[v[1:]]
    exp = params.get("expected", params.get("result"))
    cases.append(dict(
        gold=params["gold"], pred=params["pred"], expected=bool(exp),
        source=f"tests/{fname}::{func}[{idx}]", spec=spec,
    ))

# test_precision: non-parametrized; its only gold/pred call is
# compare_strings("$\\frac{1}{3}$", "0.3333$", match_types=["latex", "expr"], precision=4) == 1
cases.append(dict(
    gold="$\\frac{1}{3}$", pred="0.3333$", expected=True,
    source="tests/test_all.py::test_precision[0]",
    spec=dict(helper="compare_strings", match_types=["latex", "expr"], precision=4),
    extra_note="non-parametrized test; [0] is its single compare_strings call",
))


def targets(match_types, boxed_prio):
    t = []
    for m in match_types:
        if m == "latex":
            t.append(LatexExtractionConfig(boxed_match_priority=boxed_prio))
        elif m == "expr":
            t.append(ExprExtractionConfig())
    return t


def run_helper(c):
    s = c["spec"]
    if s["helper"] == "default":
        return verify(parse(c["gold"]), parse(c["pred"]))
    t = targets(s["match_types"], 0)  # exactly tests/test_all.py::compare_strings
    return verify(parse(c["gold"], t), parse(c["pred"], t),
                  float_rounding=s.get("precision", 6), strict=s.get("strict", True),
                  allow_set_relation_comp=s.get("allow_set_relation_comp", False))


def same_parse(a, b):
    if len(a) != len(b):
        return False
    return all(type(x) is type(y) and str(x) == str(y) for x, y in zip(a, b))


rows = []
for c in cases:
    s = c["spec"]
    notes = []
    in_scope = True
    if s["helper"] == "default":
        notes.append("calls verify(parse(gold), parse(pred)) with all defaults")
    else:
        mt = s["match_types"]
        notes.append("helper compare_strings(match_types=%s)" % json.dumps(mt))
        if s.get("precision", 6) != 6:
            in_scope = False
            notes.append("OUT: verify float_rounding=%s (default 6)" % s["precision"])
        if s.get("strict", True) is not True:
            in_scope = False
            notes.append("OUT: verify strict=%s (default True)" % s["strict"])
        if s.get("allow_set_relation_comp", False) is not False:
            in_scope = False
            notes.append("OUT: verify allow_set_relation_comp=%s (default False)" % s["allow_set_relation_comp"])
        if mt != ["latex", "expr"]:
            notes.append("extraction restricted to %s (default parse uses latex+expr)" % "+".join(mt))
            diff = [name for name, text in (("gold", c["gold"]), ("pred", c["pred"]))
                    if not same_parse(parse(text, targets(mt, 0)), parse(text))]
            if diff:
                notes.append("the restriction changes what parse() extracts from the %s" % " and ".join(diff))
            else:
                notes.append("the restriction extracts the same as default parse() here")
        # The helper builds LatexExtractionConfig(boxed_match_priority=0); parse() defaults to 50.
        # Check whether that changes the extraction for this gold/pred.
        if "latex" in mt:
            changed = [name for name, text in (("gold", c["gold"]), ("pred", c["pred"]))
                       if not same_parse(parse(text, targets(mt, 0)), parse(text, targets(mt, 50)))]
            if changed:
                in_scope = False
                notes.append("OUT: helper's LatexExtractionConfig(boxed_match_priority=0) (default 50) "
                             "changes what parse() extracts from the %s" % " and ".join(changed))
            else:
                notes.append("helper's boxed_match_priority=0 (default 50) extracts the same here")
    if c.get("extra_note"):
        notes.append(c["extra_note"])
    mv_helper = bool(run_helper(c))
    mv_default = bool(verify(parse(c["gold"]), parse(c["pred"])))
    row = dict(gold=c["gold"], pred=c["pred"], expected=c["expected"], source=c["source"],
               in_scope=in_scope, scope_note="; ".join(notes), mv_default=mv_default,
               mv_helper=mv_helper)
    rows.append(row)

with open(OUT, "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")

ins = [r for r in rows if r["in_scope"]]
print("total", len(rows), "in_scope", len(ins))
print("helper==expected (all rows):", sum(r["mv_helper"] == r["expected"] for r in rows), "/", len(rows))
print("in-scope default==expected:", sum(r["mv_default"] == r["expected"] for r in ins), "/", len(ins))
for r in ins:
    if r["mv_default"] != r["expected"]:
        print("DISAGREE", r["source"], "expected", r["expected"], "default", r["mv_default"], "|", r["scope_note"])
for r in rows:
    if not r["in_scope"]:
        print("OUT", r["source"], "|", r["scope_note"], "| default", r["mv_default"], "expected", r["expected"])
