"""Normal forms of math answers for prefmill's exact rules (before Math-Verify): LaTeX noise and units
removed, fractions as a/b, and exact rational values of plain numbers (thousands separators only as 1,234;
mixed numbers; percentages are not numbers). Used by math_answer.py."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Optional


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
    if re.search(r",\s", norm) or (re.search(r"\d\s+\d", norm) and not _MIXED.match(norm)):
        return None  # "32, 349" or "1 2" (or "3 hours 4 minutes") are not one number
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
