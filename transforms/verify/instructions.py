"""Instruction-following checks: prefmill's constraint kinds and IFEval's instruction ids, one semantics.

Each constraint is data in the prompt's reference: `{"kind": "word_count", "args": {"relation": "at_most",
"value": 50}}`, or an IFEval instruction as IFEval writes it: `{"kind": "length_constraints:number_words",
"args": {"num_words": 50, "relation": "less than"}}`. Where a prefmill kind is an IFEval instruction under
another name (the table in the README), it counts exactly as IFEval does (`ifeval.py`); prefmill's own
kinds (`required_phrase`, `forbidden_phrases`, `numbered_list_count`, `at_most`/`exactly`/`more_than`
relations) use the same counting. `passed` is the strict verdict, `loose_passed` IFEval's loose one;
`score` is the fraction satisfied (strict). An empty response never passes. A constraint of unknown kind or
with bad arguments cannot be checked: the verdict is then `passed=None, reason="invalid_constraint"`.
"""

from __future__ import annotations

import json
import re
from typing import Callable, Iterable, Optional

from prefmill.schemas import Constraint, Verdict
from prefmill.transforms.verify import ifeval

Check = Callable[[str, dict, str], tuple[bool, str]]
_WORD = re.compile(r"\b\w+(?:['\u2019-]\w+)*\b", re.UNICODE)
_RELATIONS = {
    "at_least": lambda n, v: n >= v, "at_most": lambda n, v: n <= v, "exactly": lambda n, v: n == v,
    "less_than": lambda n, v: n < v, "more_than": lambda n, v: n > v,
}


class ConstraintError(ValueError):
    """A constraint's kind or arguments are not valid."""


def _relation(args: dict, default: str = "exactly") -> Callable[[int, int], bool]:
    name = str(args.get("relation", default)).strip().lower().replace(" ", "_")
    if name not in _RELATIONS:
        raise ConstraintError(f"relation {name!r} is not one of {sorted(_RELATIONS)}")
    return _RELATIONS[name]


def _int(args: dict, key: str = "value") -> int:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConstraintError(f"argument {key!r} must be an integer, got {value!r}")
    return value


def _str(args: dict, key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise ConstraintError(f"argument {key!r} must be a non-empty string, got {value!r}")
    return value


def _strs(args: dict, key: str) -> list[str]:
    value = args.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ConstraintError(f"argument {key!r} must be a list of strings, got {value!r}")
    return value


def words(text: str) -> list[str]:
    """Words, keeping contractions and hyphenated words whole.

    >>> words("It's a well-known fact, isn't it?")
    ["It's", 'a', 'well-known', 'fact', "isn't", 'it']
    """
    return _WORD.findall(text)


def sentences(text: str) -> list[str]:
    """Sentences, split as IFEval counts them (see `ifeval.sentence_count`).

    >>> len(sentences("One. Two! Three? Four")), len(sentences("Dr. Smith arrived at 5 p.m. on time."))
    (4, 1)
    """
    return ifeval.sentences(text)


def _count(kind: str, n: int, args: dict) -> tuple[bool, str]:
    value = _int(args)
    relation = str(args.get("relation", "exactly"))
    return _relation(args)(n, value), f"{kind} is {n}, required {relation} {value}"


def _ifeval(instruction_id: str, translate: Callable[[dict], dict]) -> Check:
    """A prefmill kind that is an IFEval instruction under another name: same semantics, its args mapped."""
    def check(text: str, args: dict, prompt: str) -> tuple[bool, str]:
        try:
            return ifeval.CHECKS[instruction_id](text, translate(args), prompt)
        except ifeval.KwargsError as exc:
            raise ConstraintError(str(exc)) from None
    return check


def _numbered(text: str) -> int:
    return len(re.findall(r"^\s*\d+[.)]\s+\S", text, re.MULTILINE))


def _keywords_include(t: str, a: dict, p: str) -> tuple[bool, str]:
    return _ifeval("keywords:existence", lambda a: {"keywords": _strs(a, "keywords")})(t, a, p)


def _keywords_exclude(t: str, a: dict, p: str) -> tuple[bool, str]:
    return _ifeval("keywords:forbidden_words", lambda a: {"forbidden_words": _strs(a, "keywords")})(t, a, p)


def _required_phrase(t: str, a: dict, p: str) -> tuple[bool, str]:
    phrase = _str(a, "phrase")
    ok = phrase.lower() in t.lower()
    return ok, f"phrase {phrase!r} {'present' if ok else 'absent'}"


def _forbidden_phrases(t: str, a: dict, p: str) -> tuple[bool, str]:
    found = [x for x in _strs(a, "phrases") if x.lower() in t.lower()]
    return not found, f"forbidden phrases used: {found}" if found else "no forbidden phrase used"


def _repeat_prompt(t: str, a: dict, p: str) -> tuple[bool, str]:
    request = str(a.get("prompt") or p).strip()
    if not request:
        raise ConstraintError("repeat_prompt needs the prompt text (args.prompt)")
    return ifeval.CHECKS["combination:repeat_prompt"](t, {"prompt_to_repeat": request}, p)


def _paragraph_count(text: str, args: dict) -> tuple[bool, str]:
    count = ifeval.paragraph_count(text)
    if count is None:  # an empty paragraph between separators fails, whatever the relation (as in IFEval)
        _int(args)
        return False, "an empty paragraph between *** separators"
    return _count("paragraph count (*** separated)", count, args)


def _at_least(a: dict) -> dict:
    return {"relation": "at_least", **a}


CHECKS: dict[str, Check] = {
    "word_count": lambda t, a, p: _count("word count", ifeval.word_count(t), a),
    "sentence_count": lambda t, a, p: _count("sentence count", ifeval.sentence_count(t), a),
    "paragraph_count": lambda t, a, p: _paragraph_count(t, a),
    "keywords_include": _keywords_include,
    "keywords_exclude": _keywords_exclude,
    "keyword_frequency": lambda t, a, p: _count(
        f"count of {_str(a, 'keyword')!r}", ifeval.keyword_count(t, _str(a, "keyword")), a),
    "letter_frequency": lambda t, a, p: _count(
        f"count of letter {_str(a, 'letter')!r}", t.lower().count(_str(a, "letter").lower()), a),
    "required_phrase": _required_phrase,
    "forbidden_phrases": _forbidden_phrases,
    "start_phrase": _ifeval("startend:start_checker", lambda a: {"start_phrase": _str(a, "phrase")}),
    "end_phrase": _ifeval("startend:end_checker", lambda a: {"end_phrase": _str(a, "phrase")}),
    "bullet_count": lambda t, a, p: _count("bullet count", ifeval.bullet_count(t), a),
    "numbered_list_count": lambda t, a, p: _count("numbered item count", _numbered(t), a),
    "section_count": lambda t, a, p: _count(
        "section count", ifeval.section_count(t, str(a.get("marker", "SECTION"))), _at_least(a)),
    "json_format": _ifeval("detectable_format:json_format", lambda a: {}),
    "title": _ifeval("detectable_format:title", lambda a: {}),
    "placeholders": lambda t, a, p: _count("placeholder count", ifeval.placeholder_count(t), _at_least(a)),
    "lowercase": _ifeval("change_case:english_lowercase", lambda a: {}),
    "uppercase": _ifeval("change_case:english_capital", lambda a: {}),
    "capital_word_frequency": lambda t, a, p: _count("all-capital word count", ifeval.capital_words(t), a),
    "no_commas": _ifeval("punctuation:no_comma", lambda a: {}),
    "quotation": _ifeval("startend:quotation", lambda a: {}),
    "postscript": _ifeval("detectable_content:postscript", lambda a: {"postscript_marker": str(a.get("marker", "P.S."))}),
    "repeat_prompt": _repeat_prompt,
    "two_responses": _ifeval("combination:two_responses", lambda a: {}),
    "highlighted_sections": lambda t, a, p: _count("highlighted section count", ifeval.highlight_count(t),
                                                   _at_least(a)),
    "response_language": _ifeval("language:response_language", lambda a: {"language": _str(a, "language")}),
    "nth_paragraph_first_word": _ifeval("length_constraints:nth_paragraph_first_word", lambda a: {
        "num_paragraphs": _int(a, "paragraphs"), "nth_paragraph": _int(a, "nth"), "first_word": _str(a, "word")}),
    "constrained_response": _ifeval("detectable_format:constrained_response", lambda a: {}),
}
# Every IFEval instruction id is a kind too, with IFEval's own kwargs (`instruction_id_list` + `kwargs` data).
CHECKS.update({instruction_id: _ifeval(instruction_id, dict) for instruction_id in ifeval.CHECKS})


def check_constraint(response: str, constraint: Constraint | dict, prompt: str = "") -> tuple[bool, str]:
    """(satisfied, detail) for one constraint; raises ConstraintError when it cannot be checked.

    >>> check_constraint("hello there", {"kind": "word_count", "args": {"relation": "at_most", "value": 3}})
    (True, 'word count is 2, required at_most 3')
    """
    c = constraint if isinstance(constraint, Constraint) else Constraint.model_validate(constraint)
    check = CHECKS.get(c.kind)
    if check is None:
        raise ConstraintError(f"unknown constraint kind {c.kind!r}")
    try:
        return check(response or "", dict(c.args), prompt)
    except (KeyError, TypeError) as exc:
        raise ConstraintError(f"{c.kind}: bad arguments {c.args!r} ({exc})") from None


def verify_instructions(response: str, constraints: Iterable[Constraint | dict], prompt: str = "") -> Verdict:
    """Verdict of a response against its instruction constraints: `passed` is IFEval's strict verdict (all
    constraints hold on the response as written); `loose_passed` is IFEval's loose one. An empty response
    never passes.

    >>> v = verify_instructions("no commas here", [{"kind": "no_commas"}, {"kind": "uppercase"}])
    >>> (v.passed, v.score, v.reason, v.loose_passed)
    (False, 0.5, 'constraints_failed', False)
    >>> verify_instructions("   ", [{"kind": "word_count", "args": {"relation": "less_than", "value": 5}}]).reason
    'empty_response'
    """
    items = list(constraints or [])
    policy = "ifeval semantics (prefmill deviations: README); strict decides, loose recorded"
    if not items:
        return Verdict(passed=None, score=0.0, reason="no_constraints", verifier="instructions", policy=policy,
                       evidence="the prompt has no constraints")
    if ifeval.is_empty(response):
        return Verdict(passed=False, score=0.0, reason="empty_response", verifier="instructions", policy=policy,
                       rule="ifeval:empty", evidence="the response is empty: no instruction is followed by saying nothing",
                       loose_passed=False)
    satisfied, loose_ok, failed = 0, 0, []
    for item in items:
        kind = item.kind if isinstance(item, Constraint) else (item.get("kind") if isinstance(item, dict) else item)
        try:
            ok, detail = check_constraint(response, item, prompt)
            loose = ok or any(v.strip() and check_constraint(v, item, prompt)[0] for v in ifeval.loose_variants(response))
        except (ConstraintError, ValueError) as exc:
            return Verdict(passed=None, score=0.0, reason="invalid_constraint", verifier="instructions", policy=policy,
                           evidence=f"cannot check constraint {kind!r}: {exc}"[:500])
        satisfied += ok
        loose_ok += loose
        if not ok:
            failed.append(f"{kind}: {detail}")
    score = satisfied / len(items)
    rule = f"ifeval:strict {satisfied}/{len(items)}, loose {loose_ok}/{len(items)}"
    if not failed:
        return Verdict(passed=True, score=1.0, reason="correct", verifier="instructions", policy=policy, rule=rule,
                       loose_passed=True, evidence=f"all {len(items)} constraints satisfied")
    return Verdict(passed=False, score=score, reason="constraints_failed", verifier="instructions", policy=policy,
                   rule=rule, loose_passed=loose_ok == len(items),
                   evidence=(f"{satisfied} of {len(items)} constraints satisfied; failed: " + "; ".join(failed))[:1000])


def constraint_kinds() -> list[str]:
    return sorted(CHECKS)
