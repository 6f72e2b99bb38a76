"""Math answer checking: extract the final answer from a solution and compare it with the reference.

Extraction policy (first match wins):
1. the last `\\boxed{...}` (models revise themselves, so the last box is the final answer);
2. the last `#### ...` line (GSM8K convention);
3. the last "The (final) answer is ..." or "Answer: ...";
4. fallback (configurable): the last number in the text, or nothing.

Equivalence fast path: both sides parse as exact rationals (integers, decimals, fractions, mixed numbers,
thousands separators, currency and unit text, percentages, scientific notation, Unicode minus) and are
compared exactly; otherwise the normalised strings are compared. An empty or missing answer never passes.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal, Optional

from prefmill.schemas import Verdict

Fallback = Literal["last_number", "none"]

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)
_ANSWER_IS = re.compile(r"(?:final answer|the answer)\s*(?:is|:)\s*[:=]?\s*(.+?)(?:\.\s|\.?$|\n)", re.IGNORECASE)
_ANSWER_COLON = re.compile(r"^\s*\**answer\**\s*[:=]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+")


def _last_boxed(text: str) -> Optional[str]:
    matches = list(_BOX.finditer(text))
    for match in reversed(matches):
        depth, start = 1, match.end()
        for pos in range(start, len(text)):
            if text[pos] == "{":
                depth += 1
            elif text[pos] == "}":
                depth -= 1
                if depth == 0:
                    return text[start:pos]
    return None


def extract_answer(text: str, fallback: Fallback = "last_number") -> tuple[Optional[str], str]:
    """(answer, method) from a full solution; answer is None when nothing is found.

    >>> extract_answer("so \\\\boxed{3} ... wait, \\\\boxed{\\\\frac{1}{2}}")
    ('\\\\frac{1}{2}', 'boxed')
    >>> extract_answer("Step 1: 2+2=4\\n#### 4")
    ('4', 'hashes')
    >>> extract_answer("We get 12 apples. The answer is 12.")
    ('12', 'answer_is')
    >>> extract_answer("I think it is 7 or maybe 9", fallback="none")
    (None, 'none')
    """
    boxed = _last_boxed(text)
    if boxed is not None:
        return boxed.strip(), "boxed"
    hashes = _HASHES.findall(text)
    if hashes:
        return hashes[-1], "hashes"
    found = _ANSWER_COLON.findall(text) or _ANSWER_IS.findall(text)
    if found:
        return found[-1].strip().rstrip("."), "answer_is"
    if fallback == "last_number":
        numbers = _NUMBER.findall(text.replace("\u2212", "-"))
        if numbers:
            return numbers[-1], "last_number"
    return None, "none"


_LATEX_NOISE = re.compile(r"\\(?:left|right|,|;|!|\s|displaystyle)")
_TEXT_MACRO = re.compile(r"\\(?:text|mathrm|textbf|mbox|operatorname)\s*\{([^{}]*)\}")
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}")
_UNITS = re.compile(
    r"\b(?:dollars?|cents?|units?|meters?|metres?|cm|km|kg|grams?|g|hours?|minutes?|seconds?|days?|"
    r"apples?|people|students?|miles?|inches?|feet|foot|degrees?|years?|items?|pages?|points?)\b",
    re.IGNORECASE,
)


def _frac_to_slash(match: re.Match) -> str:
    # Keep precedence: \frac{x+2}{2} is (x+2)/2, not x+2/2. Single tokens need no parentheses.
    parts = [p.strip() for p in match.groups()]
    return "/".join(p if re.fullmatch(r"-?[\w.]+", p) else f"({p})" for p in parts)


def normalize_answer(answer: str) -> str:
    """Canonical text of an answer: no LaTeX spacing/text macros, units, currency, `x =` prefix or trailing dot.

    >>> normalize_answer("$1{,}200$ dollars")
    '1200'
    >>> normalize_answer("x = \\\\dfrac{3}{4}"), normalize_answer("\\\\frac{x+2}{2}")
    ('3/4', '(x+2)/2')
    """
    s = answer.strip().replace("\u2212", "-").replace("\u2013", "-")
    s = s.replace("{,}", "").replace("\\$", "").replace("$", "").replace("\\%", "%")
    s = _TEXT_MACRO.sub(r"\1", s)
    s = _LATEX_NOISE.sub("", s)
    s = _UNITS.sub("", s)
    s = re.sub(r"\^\s*\{?\\circ\}?|°", "", s)
    s = _FRAC.sub(_frac_to_slash, s)
    s = re.sub(r"^[a-zA-Z]\s*=\s*", "", s.strip())
    s = s.strip().rstrip(".").strip()
    return re.sub(r"\s+", " ", s)


_MIXED = re.compile(r"^(-?\d+)\s+(\d+)/(\d+)$")
_PLAIN = re.compile(r"^[-+]?(?:\d+(?:,\d{3})*|\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$")
_BARE_POW10 = re.compile(r"^10\^\{?([-+]?\d+)\}?$")
_POW10 = re.compile(r"^([-+]?[\d.]+)\s*(?:\\times|x|\*|×)\s*10\^\{?([-+]?\d+)\}?$")


def to_number(text: str) -> Optional[Fraction]:
    """An exact rational for a plain numeric answer, else None.

    >>> to_number("1,234.5"), to_number("3/4"), to_number("2 1/2"), to_number("25%"), to_number("1.5e3")
    (Fraction(2469, 2), Fraction(3, 4), Fraction(5, 2), Fraction(1, 4), Fraction(1500, 1))
    >>> to_number("x+1") is None
    True
    """
    norm = normalize_answer(text)
    s = norm if _MIXED.match(norm) else norm.replace(" ", "")
    if not s:
        return None
    percent = s.endswith("%")
    if percent:
        s = s[:-1]
    value: Optional[Fraction] = None
    mixed = _MIXED.match(s)
    pow10 = _POW10.match(s)
    bare_pow10 = _BARE_POW10.match(s)
    try:
        if mixed:
            whole, num, den = (int(g) for g in mixed.groups())
            value = Fraction(abs(whole) * den + num, den) * (-1 if whole < 0 else 1)
        elif pow10:
            value = Fraction(pow10.group(1)) * Fraction(10) ** int(pow10.group(2))
        elif bare_pow10:
            value = Fraction(10) ** int(bare_pow10.group(1))
        elif "/" in s and s.count("/") == 1:
            num, den = s.split("/")
            if _PLAIN.match(num) and _PLAIN.match(den) and num and den:
                value = Fraction(num.replace(",", "")) / Fraction(den.replace(",", ""))
        elif _PLAIN.match(s) and any(ch.isdigit() for ch in s):
            value = Fraction(s.replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return None
    if value is not None and percent:
        value /= 100
    return value


_CHOICE = re.compile(r"^\(?([A-Ea-e])\)?(?:[.:)]|\s|$)")
_OPTION = re.compile(r"^(?:option|choice)\s+\(?([A-Ea-e])\)?", re.IGNORECASE)
_SYMBOLIC_HINT = re.compile(r"[A-Za-z\\^{}()\[\]]")


def _choice(text: str) -> Optional[str]:
    text = text.strip()
    match = _OPTION.match(text) or _CHOICE.match(text)
    return match.group(1).upper() if match else None


def _split_top_level(text: str) -> list[str]:
    """Split on commas (and ' and ') outside brackets: '1, 2 and 3' -> ['1', '2', '3']."""
    parts, depth, current = [], 0, []
    for ch in text.replace(" and ", ","):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _wrapped(text: str) -> bool:
    t = text.strip()
    return len(t) > 1 and t[0] in "([{" and t[-1] in ")]}"


def match_answer(answer: str, reference: str, checker=None) -> tuple[Optional[bool], str]:
    """(equal, method). equal is None when it could not be decided (method 'timeout' or 'unparseable').

    Fast paths, no sympy: exact rationals, multiple-choice letters, normalised text, unordered lists.
    Whatever remains goes to the time-bounded symbolic checker.
    """
    a, r = to_number(answer), to_number(reference)
    if a is not None and r is not None:
        if a == r:
            return True, "number"
        for side, other in ((answer, r), (reference, a)):
            norm = normalize_answer(side)
            if norm.endswith("%") and to_number(norm[:-1]) == other:
                return True, "number"
        return False, "number"
    ref_choice = _choice(reference) if len(reference.strip()) <= 3 else None
    if ref_choice:
        return _choice(answer) == ref_choice, "choice"
    na, nr = normalize_answer(answer), normalize_answer(reference)
    if not na:
        return False, "text"
    if na.replace(" ", "").lower() == nr.replace(" ", "").lower():
        return True, "text"
    ref_items, ans_items = _split_top_level(nr), _split_top_level(na)
    if len(ref_items) > 1 and not _wrapped(nr):
        if len(ans_items) != len(ref_items):
            return False, "list"
        remaining = list(ref_items)
        for item in ans_items:
            hit = next((ref for ref in remaining if match_answer(item, ref, checker)[0]), None)
            if hit is None:
                return False, "list"
            remaining.remove(hit)
        return True, "list"
    if (a is not None or r is not None) and not (_SYMBOLIC_HINT.search(na) or _SYMBOLIC_HINT.search(nr)):
        return False, "number"  # a number against text with nothing to evaluate: not equal, no sympy needed
    if checker is None:
        from prefmill.transforms.verify.symbolic import shared_checker

        checker = shared_checker()
    equal, status = checker.equal(na, nr)
    if status == "timeout":
        return None, "timeout"
    if equal is None:
        return False, "unparseable"  # texts differ and neither side parses: not the same answer
    return equal, "symbolic"


def answers_match(answer: str, reference: str) -> bool:
    """True when the answer is equivalent to the reference.

    A percentage also matches its bare number ("25%" vs "25"), the way graders of word problems read it.

    >>> answers_match("0.5", "\\\\frac{1}{2}"), answers_match("25%", "25"), answers_match("12", "13")
    (True, True, False)
    >>> answers_match("(B)", "B"), answers_match("3, 1, 2", "1, 2, 3")
    (True, True)
    """
    return match_answer(answer, reference)[0] is True


def verify_math(response: str, reference: str, fallback: Fallback = "last_number", checker=None) -> Verdict:
    """Verdict of a math solution against the reference answer.

    >>> v = verify_math("3 + 4 = 7, so the answer is 7.", "7")
    >>> v.passed, v.reason, v.extracted
    (True, 'correct', '7')
    >>> verify_math("", "7").reason
    'no_answer'
    """
    if reference is None or not str(reference).strip():
        return Verdict(passed=None, score=0.0, reason="no_reference", verifier="math",
                       evidence="the prompt has no reference answer")
    answer, method = extract_answer(response or "", fallback)
    if answer is None or not normalize_answer(answer):
        return Verdict(passed=False, score=0.0, reason="no_answer", verifier="math", expected=reference,
                       evidence=f"no final answer found; reference is {reference}")
    equal, how = match_answer(answer, reference, checker)
    if equal is None:
        return Verdict(passed=None, score=0.0, reason="timeout", verifier="math", extracted=answer,
                       expected=reference, evidence=f"symbolic comparison of {answer} with {reference} timed out")
    if equal:
        return Verdict(passed=True, score=1.0, reason="correct", verifier="math", extracted=answer,
                       expected=reference,
                       evidence=f"final answer {answer} ({method}) equals reference {reference} ({how})")
    return Verdict(passed=False, score=0.0, reason="wrong_answer", verifier="math", extracted=answer,
                   expected=reference, evidence=f"final answer {answer} ({method}) differs from reference {reference}")
