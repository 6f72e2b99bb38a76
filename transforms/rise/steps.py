"""Split a solution into steps, and read the arithmetic in a step.

Splitting, first rule that applies: explicit `Step k:` markers; numbered lines (`1.` / `1)`); paragraphs
(blank lines); sentences. A trailing final-answer line ("The answer is 29.", `#### 29`, `\\boxed{29}`)
is kept apart as the conclusion: it is never edited, only carried forward.

Equations are `expression = result` with numbers and + - x * / ×; they are evaluated exactly (Fractions)
with a small parser, never with eval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

_STEP_MARK = re.compile(r"(?im)^[ \t]*step[ \t]*\d+[ \t]*[:.)]")
_NUMBERED = re.compile(r"(?m)^[ \t]*\d+[.)][ \t]+")
# The conclusion starts at the line or sentence holding the final-answer marker and runs to the end.
_CONCLUSION = re.compile(
    r"(?i)(?:^|(?<=\n)|(?<=[.!?] ))[ \t]*(?:(?:so,? |therefore,? |thus,? )?(?:the (?:final )?answer is|\\boxed)|####|answer:)"
    r"(?:(?![.!?]\s+\S).)*\Z", re.S)
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")
_OPERATORS = {"+": "+", "-": "-", "x": "*", "×": "*", "*": "*", "/": "/", "÷": "/"}
_EQUATION = re.compile(r"((?:-?\d[\d,]*(?:\.\d+)?\s*[-+x×*/÷]\s*)+-?\d[\d,]*(?:\.\d+)?)\s*=\s*(-?\d[\d,]*(?:\.\d+)?)")


@dataclass(frozen=True)
class Step:
    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Solution:
    text: str
    steps: list
    conclusion: Optional[Step]

    def prefix(self, index: int) -> str:
        """The solution text before step `index` (the correct prefix a Step-DPO prompt carries)."""
        return self.text[: self.steps[index].start]


def _segments(body: str, offset: int) -> list[tuple[int, int]]:
    for pattern in (_STEP_MARK, _NUMBERED):
        marks = [m.start() for m in pattern.finditer(body)]
        if len(marks) >= 2:
            bounds = marks + [len(body)]
            return [(offset + a, offset + b) for a, b in zip(bounds, bounds[1:])]
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"\S(?:.*?\S)?(?=\n\s*\n|\s*\Z)", body, re.S)]
    if len(paragraphs) >= 2:
        return [(offset + a, offset + b) for a, b in paragraphs]
    sentences = [(m.start(), m.end()) for m in re.finditer(r"\S.*?(?:[.!?](?=\s)|\Z)", body, re.S)]
    return [(offset + a, offset + b) for a, b in sentences if body[a:b].strip()]


def split_steps(text: str) -> Solution:
    """Steps and conclusion of a solution, with character spans into `text`.

    >>> s = split_steps("Step 1: 7 x 3 = 21.\\nStep 2: 50 - 21 = 29.\\nThe answer is 29.")
    >>> [st.text.strip() for st in s.steps], s.conclusion.text
    (['Step 1: 7 x 3 = 21.', 'Step 2: 50 - 21 = 29.'], 'The answer is 29.')
    """
    body_end = len(text)
    conclusion = None
    match = _CONCLUSION.search(text)
    if match and match.start() > 0 and text[: match.start()].strip():
        conclusion = Step(-1, match.start(), len(text), text[match.start():])
        body_end = match.start()
    spans = _segments(text[:body_end], 0)
    steps = []
    for i, (a, b) in enumerate(spans):
        while b > a and text[b - 1].isspace():
            b -= 1
        steps.append(Step(i, a, b, text[a:b]))
    return Solution(text=text, steps=steps, conclusion=conclusion)


def to_fraction(token: str) -> Fraction:
    return Fraction(token.replace(",", ""))


def evaluate(expression: str) -> Optional[Fraction]:
    """Exact value of `a op b op c ...` with usual precedence; None when it is not such an expression.

    >>> evaluate("50 - 7 x 3"), evaluate("3 / 4 + 1"), evaluate("2 ^ 3")
    (Fraction(29, 1), Fraction(7, 4), None)
    """
    tokens = re.findall(r"-?\d[\d,]*(?:\.\d+)?|[-+x×*/÷]|\S", expression.replace(" ", " "))
    if not tokens or len(tokens) % 2 == 0:
        return None
    try:
        values = [to_fraction(tokens[0])]
        ops = []
        for op, number in zip(tokens[1::2], tokens[2::2]):
            if op not in _OPERATORS or not NUMBER.fullmatch(number):
                return None
            ops.append(_OPERATORS[op])
            values.append(to_fraction(number))
    except (ValueError, ZeroDivisionError):
        return None
    # x and / first, then + and -
    stack, pending = [values[0]], []
    for op, value in zip(ops, values[1:]):
        if op == "*":
            stack[-1] *= value
        elif op == "/":
            if value == 0:
                return None
            stack[-1] /= value
        else:
            pending.append(op)
            stack.append(value)
    total = stack[0]
    for op, value in zip(pending, stack[1:]):
        total = total + value if op == "+" else total - value
    return total


@dataclass(frozen=True)
class Equation:
    start: int
    end: int
    expression: str
    result: str

    @property
    def holds(self) -> Optional[bool]:
        value = evaluate(self.expression)
        return None if value is None else value == to_fraction(self.result)


def equations(text: str) -> list[Equation]:
    """`expr = result` equations in a text, with spans.

    >>> [(e.expression, e.result, e.holds) for e in equations("So 7 x 3 = 21 and 50 - 21 = 28.")]
    [('7 x 3', '21', True), ('50 - 21', '28', False)]
    """
    return [Equation(m.start(), m.end(), m.group(1).strip(), m.group(2)) for m in _EQUATION.finditer(text)]


def format_number(value: Fraction, like: str) -> str:
    """`value` written the way `like` was (integer, decimals, thousands separators).

    >>> format_number(Fraction(1250), "1,200"), format_number(Fraction(5, 2), "2.0"), format_number(Fraction(7, 2), "3")
    ('1,250', '2.5', '3.5')
    """
    if value.denominator == 1:
        number = int(value)
        return f"{number:,}" if "," in like else str(number)
    decimals = len(like.split(".")[1]) if "." in like else 0
    as_float = float(value)
    if decimals or round(as_float, 6) == as_float:
        text = f"{as_float:.{max(decimals, 1)}f}".rstrip("0").rstrip(".")
        if Fraction(text) == value:
            return text
    return f"{value.numerator}/{value.denominator}"
