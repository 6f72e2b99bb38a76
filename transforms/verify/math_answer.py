"""Math answer checking: Math-Verify for parsing and equivalence, with prefmill's own rules where they add
correctness.

Extraction policy (explicit, in this order; Math-Verify implements the parsing):
1. the Minerva phrasing "Final Answer: The final answer is X. I hope it is correct." (Math-Verify's
   highest priority too);
2. every `\\boxed{...}` answer: several boxes are one answer, a set (or tuple) as the reference implies;
3. a GSM8K `#### X` line, then the last "The (final) answer is X" / "Answer: X"; a marked answer that
   hedges ("5 or 6", "not 5") or names several values where the reference has one is `ambiguous_answer`;
4. no anchor: the last LaTeX or plain expression, only under `fallback="last_number"` (lenient), and never
   when the last line names several different candidate answers ("maybe 3 or 4" is `ambiguous_answer`);
   `fallback="none"` gives `no_answer` instead.
GSM8K-style references (`... #### 4`) are read as the number after `####`.

prefmill's own rules on top of Math-Verify, each because it adds correctness:
- exact rationals when an anchored answer and the reference are both plain numbers (no float rounding:
  0.3333 is not 1/3; thousands separators only as `1,234`, so `32, 349` is two numbers, not 32349);
- multiple-choice letters (`(C)` vs `C`), which Math-Verify's default extraction does not read;
- ambiguity: an unanchored response that names several candidate answers never passes.
Everything else is Math-Verify's default `verify(parse(gold), parse(prediction))`, run in a time-bounded
helper process (`symbolic.py`).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal, Optional

from prefmill.schemas import Verdict
from prefmill.transforms.verify.math_normalize import normalize_answer, to_number

Fallback = Literal["last_number", "none"]

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_HASHES = re.compile(r"^\s*####\s*(.+?)\s*$", re.MULTILINE)
_ANSWER_IS = re.compile(r"(?:final answer|the answer)\s*(?:is|:)\s*[:=]?\s*(.+?)(?:\.\s|\.?$|\n)", re.IGNORECASE)
_ANSWER_COLON = re.compile(r"\banswer\**\s*[:=]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


_MINERVA = re.compile(r"final answer is\s*(.+?)\.?\s*I hope it is correct", re.IGNORECASE | re.S)
_REF_HASHES = re.compile(r"####\s*([^\n]+?)\s*$")


def _all_boxed(text: str) -> list[str]:
    answers = []
    for match in _BOX.finditer(text):
        depth, start = 1, match.end()
        for pos in range(start, len(text)):
            if text[pos] == "{":
                depth += 1
            elif text[pos] == "}":
                depth -= 1
                if depth == 0:
                    answers.append(text[start:pos].strip())
                    break
    return answers


def anchored_answers(text: str) -> tuple[list[str], str]:
    """The answers a response marks as final, and how: boxed (all boxes), minerva, hashes, answer_is; else
    ([], "none").

    >>> anchored_answers("so \\\\boxed{3} ... and \\\\boxed{5}")
    (['3', '5'], 'boxed')
    >>> anchored_answers("Final Answer: The final answer is 7.78. I hope it is correct.")
    (['7.78'], 'minerva')
    """
    minerva = _MINERVA.findall(text)
    if minerva:
        return [minerva[-1].strip().strip("$").strip()], "minerva"
    boxed = [b for b in _all_boxed(text) if b]
    if boxed:
        return boxed, "boxed"
    hashes = _HASHES.findall(text)
    if hashes:
        return [hashes[-1]], "hashes"
    found = [(m.start(), m.group(1)) for pattern in (_ANSWER_COLON, _ANSWER_IS) for m in pattern.finditer(text)]
    if found:  # the last statement of an answer wins, whichever phrasing it used
        return [max(found)[1].strip().rstrip(".").strip("$").strip()], "answer_is"
    return [], "none"


_HEDGE = re.compile(r"\b(?:or|maybe|perhaps|possibly|either|probably|might|could be|guess)\b", re.I)
# A hedge next to a value: "5 or 6", "5 and maybe 6", "not 5", "possibly 6" (not "could be in the domain").
_VALUE_HEDGE = re.compile(r"\d[^\n\d]{0,12}?\b(?:or|and)\b\s*(?:maybe|perhaps|possibly|probably)?\s*\$?-?\d|"
                          r"\b(?:not|maybe|perhaps|possibly|probably|either)\s+\$?-?\d", re.I)
_MATH_SPAN = re.compile(r"\$\$.+?\$\$|\$[^$]+\$|\\\(.+?\\\)|\\\[.+?\\\]", re.S)
_PLAIN_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\w.]*\w)")


def last_line_candidates(text: str) -> list[str]:
    """Distinct candidate answers on the last non-empty line: each math span, each plain number.

    >>> last_line_candidates("so maybe 3 or 4")
    ['3', '4']
    >>> last_line_candidates("Thus $\\\\frac{1}{3}$")
    ['$\\\\frac{1}{3}$']
    """
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return []
    line = " ".join(lines[-2:])
    spans = _MATH_SPAN.findall(line)
    plain = _PLAIN_NUMBER.findall(_MATH_SPAN.sub(" ", line))
    seen: list[str] = []
    for item in spans + plain:
        key = normalize_answer(item)
        if key and key not in [normalize_answer(s) for s in seen]:
            seen.append(item)
    return seen


def hedged(text: str) -> bool:
    """True when the last two non-empty lines hedge ("3 or 4", "maybe 5", "not 5").

    >>> hedged("It's either 3\\nor 4"), hedged("So the total is 12.")
    (True, False)
    """
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return bool(lines) and bool(_HEDGE.search(_MATH_SPAN.sub(" ", " ".join(lines[-2:]))))


def _ambiguous(answer: str, gold: str) -> bool:
    """A marked answer that hedges ("5 or 6", "not 5") or names several values where the reference has one.

    >>> _ambiguous("5 or maybe 6", "5"), _ambiguous("5, 6", "5"), _ambiguous("5, 6", "5, 6"), _ambiguous("12", "12")
    (True, True, False, False)
    """
    if to_number(gold) is None:
        return False  # a list, tuple, set, interval, expression or text: Math-Verify reads it whole
    plain = _MATH_SPAN.sub(" 0 ", answer)  # a math span counts as a value
    if _VALUE_HEDGE.search(plain):
        return True
    if to_number(answer) is not None:
        return False  # one value (a fraction, a mixed number)
    values = {v for v in _PLAIN_NUMBER.findall(normalize_answer(answer))}
    return len(values) > 1


def reference_answer(reference: str) -> str:
    """The gold answer: a GSM8K-style reference (`... #### 4`) is the text after its last `####`.

    >>> reference_answer("Natalia sold 48/2 = 24 clips...\\n#### 72"), reference_answer("\\\\frac{1}{2}")
    ('72', '\\\\frac{1}{2}')
    """
    found = _REF_HASHES.findall(reference.strip())
    return found[-1].strip() if found else reference.strip()


def extract_answer(text: str, fallback: Fallback = "last_number") -> tuple[Optional[str], str]:
    """(answer, method) from a full solution; answer is None when nothing is found. Several boxes come back
    joined as one list.

    >>> extract_answer("so \\\\boxed{3} ... wait, \\\\boxed{\\\\frac{1}{2}}")
    ('3, \\\\frac{1}{2}', 'boxed')
    >>> extract_answer("Step 1: 2+2=4\\n#### 4")
    ('4', 'hashes')
    >>> extract_answer("We get 12 apples. The answer is 12.")
    ('12', 'answer_is')
    >>> extract_answer("I think it is 7 or maybe 9"), extract_answer("I think it is 7", fallback="none")
    ((None, 'ambiguous'), (None, 'none'))
    """
    answers, method = anchored_answers(text or "")
    if answers:
        return ", ".join(answers), method
    if fallback == "last_number":
        candidates = last_line_candidates(text)
        if len(candidates) > 1 and hedged(text):
            return None, "ambiguous"
        if candidates:
            return candidates[-1].strip("$").strip(), "last_number"
    return None, "none"


_CHOICE = re.compile(r"^(?:\(([A-Ea-e])\)|([A-E]))[.:]?$")  # "(c)" or "C", never a bare "e" (a constant)
_OPTION = re.compile(r"^(?:option|choice)\s+\(?([A-Ea-e])\)?[.:]?$", re.IGNORECASE)
_GOLD_CHOICE = re.compile(r"^\(?([A-E])\)?$")
_SYMBOLIC_HINT = re.compile(r"[A-Za-z\\^{}()\[\]]")


def _choice(text: str) -> Optional[str]:
    """The option letter when the whole answer is one ("(C)", "C.", "option C"), else None."""
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", text.strip().strip("$")).strip()
    match = _OPTION.match(text) or _CHOICE.match(text)
    return next(g for g in match.groups() if g).upper() if match else None


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


_DECIMAL_COMMA = re.compile(r"^-?(?:0,\d+|\d+,\d{1,2}|\d+,\d{4,})$")  # 1,22 / 0,111: a decimal comma?
_PERCENT = re.compile(r"%|percent|pct", re.I)
_DECIMAL_TEXT = re.compile(r"^-?\d*\.\d+$")


def _exact(answer: str, gold: str) -> Optional[bool]:
    """Exact rational comparison of two plain numbers (prefmill's rule), or None to leave it to Math-Verify:
    percentages (Math-Verify reads 28% and 28 alike), possible decimal commas, and a decimal standing for a
    fraction that has no finite decimal (Math-Verify's 6-place rounding decides those)."""
    for text in (answer, gold):
        norm = normalize_answer(text).replace(" ", "")
        if _PERCENT.search(text) or _DECIMAL_COMMA.match(norm):
            return None
    value, number = to_number(answer), to_number(gold)
    if value is None or number is None:
        return None
    if value == number:
        return True
    for side, other in ((answer, number), (gold, value)):
        if _DECIMAL_TEXT.match(normalize_answer(side)) and not _terminates(other):
            return None
    return False


def same_text(answer: str, gold: str) -> bool:
    """Equal as normalised text, case-sensitive; spaces count only between word characters ("1 2" is
    not "12"; "2x + 1" is "2x+1").

    >>> same_text("2x + 1", "2x+1"), same_text("1 2", "12"), same_text("e", "E")
    (True, False, False)
    """
    squeeze = lambda t: re.sub(r"(?<!\w)\s+|\s+(?!\w)", "", normalize_answer(t))  # noqa: E731
    return bool(squeeze(gold)) and squeeze(answer) == squeeze(gold) and _same_left_side(answer, gold)


_LEFT = re.compile(r"^\s*\$?\s*([a-zA-Z])\s*=")


def _same_left_side(answer: str, gold: str) -> bool:
    """`x = 5` and `y = 5` are different answers; `x = 5` and `5` are the same one."""
    a, g = _LEFT.match(answer), _LEFT.match(gold)
    return not (a and g) or a.group(1) == g.group(1)


def _terminates(value: Fraction) -> bool:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def _same_items(items: list[str], gold_items: list[str], checker) -> bool:
    remaining = list(gold_items)
    for item in items:
        hit = next((g for g in remaining if match_answer([item], "answer_is", g, f"The answer is ${item}$.",
                                                          checker)[0] is True), None)
        if hit is None:
            return False
        remaining.remove(hit)
    return True


def match_answer(answers: list[str], method: str, gold: str, response: str,
                 checker=None) -> tuple[Optional[bool], str, Optional[str]]:
    """(equal or None, rule, extracted). None means it could not be decided (timeout or unparseable gold)."""
    if len(answers) == 1 and not _same_left_side(answers[0], gold):
        return False, "left_side", answers[0]  # x = 5 is not y = 5
    if len(answers) == 1 and (method != "last_number" or answers[0] != response.strip()):
        exact = _exact(answers[0], gold)
        if exact is not None:
            return exact, "exact_rational", answers[0]
        if same_text(answers[0], gold):
            return True, "same_text", answers[0]
        items, gold_items = _split_top_level(normalize_answer(answers[0])), _split_top_level(normalize_answer(gold))
        if len(gold_items) > 1 and not re.search(r"[\\()\[\]{}]", normalize_answer(gold)) and len(items) == len(gold_items):
            # A bare list of answers (roots, values): any order. Bracketed ones are tuples, intervals or
            # sets, which Math-Verify reads with their meaning.
            return _same_items(items, gold_items, checker), "unordered_list", answers[0]
    gold_choice = _GOLD_CHOICE.match(gold.strip())  # an option letter, in capitals (a lone `e` is a constant)
    if gold_choice and answers:
        if len(answers) != 1 or method == "last_number":
            return False, "choice", ", ".join(answers)[:200]  # several boxes, or no marked answer: no option
        return _choice(answers[0]) == gold_choice.group(1), "choice", answers[0]
    if checker is None:
        from prefmill.transforms.verify.symbolic import shared_checker

        checker = shared_checker()
    prediction = response if method != "boxed" else " ".join(f"\\boxed{{{a}}}" for a in answers)
    equal, status, extracted = checker.verify(gold, prediction)
    if status == "timeout":
        return None, "timeout", extracted
    if equal is None:
        return None, "unparseable_reference", extracted
    return equal, "math_verify", extracted


def answers_match(answer: str, reference: str) -> bool:
    """True when the answer is equivalent to the reference.

    A percentage also matches its bare number ("25%" vs "25"), the way graders of word problems read it.

    >>> answers_match("0.5", "\\\\frac{1}{2}"), answers_match("25%", "25"), answers_match("12", "13")
    (True, True, False)
    >>> answers_match("(B)", "B"), answers_match("3, 1, 2", "1, 2, 3")
    (True, True)
    """
    gold = reference_answer(reference)
    return match_answer([answer], "answer_is", gold, f"The answer is ${answer}$.")[0] is True


def verify_math(response: str, reference: str, fallback: Fallback = "last_number", checker=None) -> Verdict:
    """Verdict of a math solution against the reference answer (see the module doc for the policy).

    >>> v = verify_math("3 + 4 = 7, so the answer is 7.", "7")
    >>> v.passed, v.reason, v.extracted, v.rule
    (True, 'correct', '7', 'answer_is/exact_rational')
    >>> verify_math("", "7").reason, verify_math("maybe 3 or 4", "4").reason
    ('no_answer', 'ambiguous_answer')
    """
    from prefmill.transforms.verify.symbolic import engine_version

    policy = f"{engine_version()}; fallback={fallback}"
    if reference is None or not str(reference).strip():
        return Verdict(passed=None, score=0.0, reason="no_reference", verifier="math", policy=policy,
                       evidence="the prompt has no reference answer")
    gold = reference_answer(str(reference))
    text = response or ""
    answers, method = anchored_answers(text)
    if not answers:
        if fallback == "none":
            return Verdict(passed=False, score=0.0, reason="no_answer", verifier="math", expected=gold, policy=policy,
                           rule="no_anchor", evidence=f"no marked final answer (fallback none); reference is {gold}")
        candidates = last_line_candidates(text)
        if len(candidates) > 1 and hedged(text):
            return Verdict(passed=False, score=0.0, reason="ambiguous_answer", verifier="math", expected=gold,
                           policy=policy, rule="last_line", extracted=", ".join(candidates)[:200],
                           evidence=f"no marked final answer and the last line hedges between several: "
                                    f"{', '.join(candidates)[:200]}")
        if len(candidates) == 1 and not candidates[0].startswith(("$", "\\")) and _exact(candidates[0], gold) is not None:
            answers = [candidates[0]]  # one plain number on the last line: the exact path, no engine call
        else:
            answers = [text.strip()]  # Math-Verify takes the last expression
        method = "last_number"
    if method in ("minerva", "hashes", "answer_is") and _ambiguous(answers[0], gold):
        return Verdict(passed=False, score=0.0, reason="ambiguous_answer", verifier="math", expected=gold,
                       policy=policy, rule=f"{method}/ambiguous", extracted=answers[0][:200],
                       evidence=f"the marked answer hedges or names several values: {answers[0][:200]}")
    if not any(normalize_answer(a) for a in answers):
        return Verdict(passed=False, score=0.0, reason="no_answer", verifier="math", expected=gold, policy=policy,
                       rule=method, evidence=f"the final answer is empty; reference is {gold}")
    equal, rule, extracted = match_answer(answers, method, gold, text, checker)
    if rule == "math_verify" and not extracted:
        return Verdict(passed=False, score=0.0, reason="no_answer", verifier="math", expected=gold, policy=policy,
                       rule=f"{method}/{rule}", evidence=f"Math-Verify found no answer; reference is {gold}")
    shown = extracted or ", ".join(answers)
    rule = f"{method}/{rule}"
    if equal is None:
        reason = "timeout" if rule.endswith("timeout") else "unverifiable"
        return Verdict(passed=None, score=0.0, reason=reason, verifier="math", extracted=shown, expected=gold,
                       policy=policy, rule=rule, evidence=f"could not compare {shown} with {gold} ({rule})")
    if equal:
        return Verdict(passed=True, score=1.0, reason="correct", verifier="math", extracted=shown, expected=gold,
                       policy=policy, rule=rule, evidence=f"final answer {shown} ({method}) equals reference {gold} ({rule})")
    return Verdict(passed=False, score=0.0, reason="wrong_answer", verifier="math", extracted=shown, expected=gold,
                   policy=policy, rule=rule, evidence=f"final answer {shown} ({method}) differs from reference {gold}")
