"""Instruction-following checks (IFEval-style verifiable constraints).

Each constraint is data in the prompt's reference: `{"kind": "word_count", "args": {"relation": "at_most",
"value": 50}}`. `verify_instructions` checks every constraint; `score` is the fraction satisfied and
`passed` means all are. A constraint of unknown kind or with bad arguments cannot be checked: the verdict
is then `passed=None, reason="invalid_constraint"`, naming it, rather than a guess either way.
`relation` is one of at_least, at_most, exactly, less_than, more_than (IFEval's "less than" also reads).
"""

from __future__ import annotations

import json
import re
from typing import Callable, Iterable, Optional

from prefmill.schemas import Constraint, Verdict

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
    """Sentences split after . ! or ? (an unterminated last sentence counts).

    >>> len(sentences("One. Two! Three? Four"))
    4
    """
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p for p in parts if _WORD.search(p)]


def _count(kind: str, n: int, args: dict) -> tuple[bool, str]:
    value = _int(args)
    relation = str(args.get("relation", "exactly"))
    return _relation(args)(n, value), f"{kind} is {n}, required {relation} {value}"


def _paragraphs(text: str, separator: Optional[str]) -> list[str]:
    chunks = text.split(separator) if separator else re.split(r"\n\s*\n", text)
    return [c for c in chunks if c.strip()]


def _contains_word(text: str, word: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE))


def _bullets(text: str) -> int:
    return len(re.findall(r"^\s*[*\-\u2022]\s+\S", text, re.MULTILINE))


def _numbered(text: str) -> int:
    return len(re.findall(r"^\s*\d+[.)]\s+\S", text, re.MULTILINE))


def _json_ok(text: str) -> tuple[bool, str]:
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.S)
    if fenced:
        body = fenced.group(1)
    try:
        json.loads(body)
        return True, "the response is valid JSON"
    except json.JSONDecodeError as exc:
        return False, f"the response is not valid JSON ({exc.msg} at char {exc.pos})"


def _sections(text: str, marker: str) -> int:
    if marker.startswith("#"):
        return len(re.findall(r"^\s*#{1,6}\s+\S", text, re.MULTILINE))
    return len(re.findall(rf"^\s*{re.escape(marker)}\s*\d+", text, re.MULTILINE))


def _letters(text: str) -> list[str]:
    return [c for c in text if c.isalpha()]


def _keywords_include(t: str, a: dict, p: str) -> tuple[bool, str]:
    missing = [k for k in _strs(a, "keywords") if not _contains_word(t, k)]
    return not missing, f"missing keywords {missing}" if missing else "all keywords present"


def _keywords_exclude(t: str, a: dict, p: str) -> tuple[bool, str]:
    found = [k for k in _strs(a, "keywords") if _contains_word(t, k)]
    return not found, f"forbidden words used: {found}" if found else "no forbidden word used"


def _required_phrase(t: str, a: dict, p: str) -> tuple[bool, str]:
    phrase = _str(a, "phrase")
    ok = phrase.lower() in t.lower()
    return ok, f"phrase {phrase!r} {'present' if ok else 'absent'}"


def _forbidden_phrases(t: str, a: dict, p: str) -> tuple[bool, str]:
    found = [x for x in _strs(a, "phrases") if x.lower() in t.lower()]
    return not found, f"forbidden phrases used: {found}" if found else "no forbidden phrase used"


def _start_phrase(t: str, a: dict, p: str) -> tuple[bool, str]:
    return t.strip().lower().startswith(_str(a, "phrase").lower()), f"starts with {t.strip()[:30]!r}"


def _end_phrase(t: str, a: dict, p: str) -> tuple[bool, str]:
    return t.strip().lower().endswith(_str(a, "phrase").strip().lower()), f"ends with {t.strip()[-40:]!r}"


def _title(t: str, a: dict, p: str) -> tuple[bool, str]:
    ok = bool(re.search(r"<<[^<>\n]+>>", t))
    return ok, "title in <<...>> found" if ok else "no title in <<...>>"


def _case(upper: bool) -> Check:
    def check(t: str, a: dict, p: str) -> tuple[bool, str]:
        ok = (t == (t.upper() if upper else t.lower())) and any(c.isalpha() for c in t)
        wanted = "capitals" if upper else "lowercase"
        return ok, f"all {wanted}" if ok else f"not all {wanted}"
    return check


def _quotation(t: str, a: dict, p: str) -> tuple[bool, str]:
    body = t.strip()
    ok = len(body) > 1 and body[0] == '"' and body[-1] == '"'
    return ok, "wrapped in double quotes" if ok else "not wrapped in double quotes"


def _postscript(t: str, a: dict, p: str) -> tuple[bool, str]:
    marker = str(a.get("marker", "P.S."))
    ok = bool(re.search(rf"^\s*{re.escape(marker)}", t, re.MULTILINE))
    return ok, f"postscript starting with {marker!r} {'found' if ok else 'missing'}"


def _repeat_prompt(t: str, a: dict, p: str) -> tuple[bool, str]:
    request = str(a.get("prompt") or p).strip()
    if not request:
        raise ConstraintError("repeat_prompt needs the prompt text (args.prompt)")
    ok = t.strip().lower().startswith(request.lower())
    return ok, "starts by repeating the request" if ok else "does not repeat the request first"


def _at_least(a: dict) -> dict:
    return {"relation": "at_least", **a}


CHECKS: dict[str, Check] = {
    "word_count": lambda t, a, p: _count("word count", len(words(t)), a),
    "sentence_count": lambda t, a, p: _count("sentence count", len(sentences(t)), a),
    "paragraph_count": lambda t, a, p: _count("paragraph count", len(_paragraphs(t, a.get("separator", "***"))), a),
    "keywords_include": _keywords_include,
    "keywords_exclude": _keywords_exclude,
    "keyword_frequency": lambda t, a, p: _count(
        f"count of {_str(a, 'keyword')!r}", _contains_word(t, _str(a, "keyword")), a),
    "letter_frequency": lambda t, a, p: _count(
        f"count of letter {_str(a, 'letter')!r}", t.lower().count(_str(a, "letter").lower()), a),
    "required_phrase": _required_phrase,
    "forbidden_phrases": _forbidden_phrases,
    "start_phrase": _start_phrase,
    "end_phrase": _end_phrase,
    "bullet_count": lambda t, a, p: _count("bullet count", _bullets(t), a),
    "numbered_list_count": lambda t, a, p: _count("numbered item count", _numbered(t), a),
    "section_count": lambda t, a, p: _count("section count", _sections(t, str(a.get("marker", "SECTION"))),
                                            _at_least(a)),
    "json_format": lambda t, a, p: _json_ok(t),
    "title": _title,
    "placeholders": lambda t, a, p: _count("placeholder count", len(re.findall(r"\[[^\[\]\n]+\]", t)), _at_least(a)),
    "lowercase": _case(upper=False),
    "uppercase": _case(upper=True),
    "capital_word_frequency": lambda t, a, p: _count(
        "all-capital word count", sum(1 for w in words(t) if w.isupper() and len(w) > 1), a),
    "no_commas": lambda t, a, p: ("," not in t, f"{t.count(',')} comma(s)"),
    "quotation": _quotation,
    "postscript": _postscript,
    "repeat_prompt": _repeat_prompt,
    "two_responses": lambda t, a, p: _two_responses(t, str(a.get("separator", "******"))),
    "highlighted_sections": lambda t, a, p: _count(
        "highlighted section count", len(re.findall(r"\*[^*\n]+\*", t)), _at_least(a)),
}


def _two_responses(text: str, separator: str) -> tuple[bool, str]:
    parts = [p.strip() for p in text.split(separator)]
    ok = len(parts) == 2 and all(parts) and parts[0] != parts[1]
    return ok, f"{len(parts)} part(s) separated by {separator!r}" + ("" if ok else ", need two different responses")


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
    """Verdict of a response against its instruction constraints.

    >>> v = verify_instructions("no commas here", [{"kind": "no_commas"}, {"kind": "uppercase"}])
    >>> (v.passed, v.score, v.reason)
    (False, 0.5, 'constraints_failed')
    """
    items = list(constraints or [])
    if not items:
        return Verdict(passed=None, score=0.0, reason="no_constraints", verifier="instructions",
                       evidence="the prompt has no constraints")
    satisfied, failed = 0, []
    for item in items:
        kind = item.kind if isinstance(item, Constraint) else (item.get("kind") if isinstance(item, dict) else item)
        try:
            ok, detail = check_constraint(response, item, prompt)
        except (ConstraintError, ValueError) as exc:
            return Verdict(passed=None, score=0.0, reason="invalid_constraint", verifier="instructions",
                           evidence=f"cannot check constraint {kind!r}: {exc}"[:500])
        if ok:
            satisfied += 1
        else:
            failed.append(f"{kind}: {detail}")
    score = satisfied / len(items)
    if not failed:
        return Verdict(passed=True, score=1.0, reason="correct", verifier="instructions",
                       evidence=f"all {len(items)} constraints satisfied")
    return Verdict(passed=False, score=score, reason="constraints_failed", verifier="instructions",
                   evidence=(f"{satisfied} of {len(items)} constraints satisfied; failed: " + "; ".join(failed))[:1000])


def constraint_kinds() -> list[str]:
    return sorted(CHECKS)
