"""RISE error injection: pick a step and an error type, plant one subtle error, carry it forward.

Error types and when a step is eligible (RISE's predefined subtle errors):

| type                | eligible when the step has           | rule-based edit                                      |
| number_change       | a number                             | an equation's result (or a number) is off by a little |
| value_change        | an equation                          | one operand value changes; the result follows it      |
| wrong_substitution  | an equation and another question number | an operand becomes another number from the question |
| term_deletion       | an equation with 2+ operators        | one term and its operator are dropped; result follows |
| operator_change     | an equation                          | one operator flips (+ <-> -, x <-> /); result follows |
| term_swap           | an equation with - or /              | the two operands around it swap; result follows       |
| misread             | no digits and no `=`                 | a key word is misread (more <-> less, half -> twice)  |

A step is picked uniformly among steps with an eligible type, then a type uniformly among its eligible
types, from an RNG seeded by (seed, prompt id, candidate id). An LLM self-edit uses the same choice.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional

from prefmill.transforms.rise.steps import (
    NUMBER, Equation, Solution, Step, equations, evaluate, format_number, to_fraction,
)

ERROR_TYPES = ("number_change", "value_change", "wrong_substitution", "term_deletion", "operator_change",
               "term_swap", "misread")
_OPERATOR = re.compile(r"(?<=\d)\s*([-+x×*/÷])\s*(?=-?\d)")
_FLIP = {"+": "-", "-": "+", "x": "/", "×": "÷", "*": "/", "/": "x", "÷": "×"}
MISREADS = [("more", "less"), ("less", "more"), ("increase", "decrease"), ("decrease", "increase"),
            ("half", "twice"), ("twice", "half"), ("each", "all"), ("after", "before"), ("before", "after"),
            ("total", "difference"), ("remaining", "original"), ("per", "in all"), ("at least", "at most")]
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def token_distance(a: str, b: str) -> int:
    """Levenshtein distance between the token sequences of two texts.

    >>> token_distance("12 x 4 = 48", "12 x 4 = 46"), token_distance("a b c", "a c")
    (1, 1)
    """
    x, y = tokens(a), tokens(b)
    previous = list(range(len(y) + 1))
    for i, tx in enumerate(x, 1):
        current = [i]
        for j, ty in enumerate(y, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (tx != ty)))
        previous = current
    return previous[-1]


def eligible_types(step: Step, question_numbers: list[str]) -> list[str]:
    text = step.text
    eqs = equations(text)
    body = re.sub(r"(?i)^\s*step\s*\d+\s*[:.)]", "", text)
    types = []
    if NUMBER.search(body):
        types.append("number_change")
    if eqs:
        types += ["value_change", "operator_change"]
        operands = {n for e in eqs for n in NUMBER.findall(e.expression)}
        if any(q not in operands for q in question_numbers):
            types.append("wrong_substitution")
        if any(len(_OPERATOR.findall(e.expression)) >= 2 for e in eqs):
            types.append("term_deletion")
        if any(re.search(r"\d\s*[-/÷]\s*\d", e.expression) for e in eqs):
            types.append("term_swap")
    if not re.search(r"\d", body) and "=" not in body and any(
            re.search(rf"\b{w}\b", body, re.I) for w, _ in MISREADS):
        types.append("misread")
    return [t for t in ERROR_TYPES if t in types]


@dataclass(frozen=True)
class EditPlan:
    step_index: int
    error_type: str


def choose(solution: Solution, question_numbers: list[str], rng: random.Random) -> Optional[EditPlan]:
    """A step uniformly among eligible steps, then an error type uniformly among its eligible types."""
    options = [(s.index, eligible_types(s, question_numbers)) for s in solution.steps]
    options = [(i, types) for i, types in options if types]
    if not options:
        return None
    index, types = rng.choice(options)
    return EditPlan(index, rng.choice(types))


def _nudge(value: Fraction, rng: random.Random) -> Fraction:
    delta = Fraction(rng.choice([1, 2, 3, -1, -2]))
    if value.denominator != 1:
        delta /= 10
    new = value + delta
    return new if new != value and (value < 0 or new >= 0) else value + abs(delta) + 1


def _rewrite_equation(text: str, eq: Equation, new_expression: str) -> Optional[str]:
    value = evaluate(new_expression)
    if value is None:
        return None
    result = format_number(value, eq.result)
    if "/" in result:
        return None  # a result like 7/3 is no subtle error and does not carry forward cleanly
    return text[: eq.start] + f"{new_expression} = {result}" + text[eq.end:]


def _operands(expression: str) -> list[re.Match]:
    return list(NUMBER.finditer(expression))


def apply_rule(step: Step, error_type: str, question_numbers: list[str], rng: random.Random) -> Optional[str]:
    """The step's text with one rule-based error of `error_type`, or None when the rule cannot apply."""
    text = step.text
    eqs = equations(text)
    if error_type == "number_change":
        if eqs:
            eq = rng.choice(eqs)
            new = format_number(_nudge(to_fraction(eq.result), rng), eq.result)
            return text[: eq.end - len(eq.result)] + new + text[eq.end:]
        marker = re.match(r"(?i)^\s*step\s*\d+\s*[:.)]", text)
        numbers = [m for m in NUMBER.finditer(text) if not marker or m.start() >= marker.end()]
        if not numbers:
            return None
        m = rng.choice(numbers)
        return text[: m.start()] + format_number(_nudge(to_fraction(m.group()), rng), m.group()) + text[m.end():]
    if error_type == "misread":
        words = [(w, r) for w, r in MISREADS if re.search(rf"\b{w}\b", text, re.I)]
        if not words:
            return None
        word, replacement = rng.choice(words)
        return re.sub(rf"\b{word}\b", replacement, text, count=1, flags=re.I)
    if not eqs:
        return None
    eq = rng.choice(eqs)
    expr = eq.expression
    if error_type in ("value_change", "wrong_substitution"):
        operands = _operands(expr)
        target = rng.choice(operands)
        if error_type == "value_change":
            replacement = format_number(_nudge(to_fraction(target.group()), rng), target.group())
        else:
            others = [q for q in question_numbers if q != target.group()]
            if not others:
                return None
            replacement = rng.choice(others)
        new_expr = expr[: target.start()] + replacement + expr[target.end():]
    elif error_type == "operator_change":
        ops = list(_OPERATOR.finditer(expr))
        op = rng.choice(ops)
        new_expr = expr[: op.start(1)] + _FLIP[op.group(1)] + expr[op.end(1):]
    elif error_type == "term_deletion":
        ops = list(_OPERATOR.finditer(expr))
        if len(ops) < 2:
            return None
        operands = _operands(expr)
        k = rng.randrange(1, len(operands))  # drop operand k and the operator before it
        new_expr = (expr[: ops[k - 1].start()] + expr[operands[k].end():]).strip()
    elif error_type == "term_swap":
        for op in _OPERATOR.finditer(expr):
            if op.group(1) in "-/÷":
                left = [m for m in _operands(expr) if m.end() <= op.start()][-1]
                right = [m for m in _operands(expr) if m.start() >= op.end()][0]
                new_expr = (expr[: left.start()] + right.group() + expr[left.end(): right.start()] + left.group()
                            + expr[right.end():])
                break
        else:
            return None
    else:
        return None
    if new_expr == expr:
        return None
    offset = text.find(expr, eq.start)
    rewritten = _rewrite_equation(text, Equation(eq.start, eq.end, expr, eq.result), new_expr)
    return rewritten if offset >= 0 else None


def changed_values(original: str, edited: str) -> dict[str, str]:
    """Result values an edit changed: {old result: new result}, read from aligned equations."""
    mapping = {}
    for before, after in zip(equations(original), equations(edited)):
        if before.result != after.result:
            mapping[before.result] = after.result
    if not mapping:
        old_numbers, new_numbers = NUMBER.findall(original), NUMBER.findall(edited)
        if len(old_numbers) == len(new_numbers):
            mapping = {a: b for a, b in zip(old_numbers, new_numbers) if a != b}
    return mapping


def carry_forward(solution: Solution, step_index: int, edited_step: str) -> tuple[str, tuple[int, int]]:
    """The full solution with the edited step and its consequences: later equations that used a changed
    value are recomputed, and the changed results flow on to the final answer. Returns (text, edited span)."""
    steps = solution.steps
    original = steps[step_index]
    values = changed_values(original.text, edited_step)
    out = [solution.text[: original.start], edited_step]
    span = (original.start, original.start + len(edited_step))
    cursor = original.end
    rest = list(steps[step_index + 1:]) + ([solution.conclusion] if solution.conclusion else [])
    for step in rest:
        out.append(solution.text[cursor: step.start])
        out.append(_propagate(step.text, values))
        cursor = step.end
    out.append(solution.text[cursor:])
    return "".join(out), span


def _propagate(text: str, values: dict[str, str]) -> str:
    if not values:
        return text
    eqs = equations(text)
    if eqs:
        pieces, cursor = [], 0
        for eq in eqs:
            expr = NUMBER.sub(lambda m: values.get(m.group(), m.group()), eq.expression)
            if expr != eq.expression:
                value = evaluate(expr)
                new_result = format_number(value, eq.result) if value is not None else eq.result
                values[eq.result] = new_result
                pieces.append(text[cursor: eq.start] + f"{expr} = {new_result}")
                cursor = eq.end
        pieces.append(text[cursor:])
        text = "".join(pieces)
        # numbers outside equations (e.g. "leaving 300") follow too
    return NUMBER.sub(lambda m: values.get(m.group(), m.group()), text)


Editor = Callable[[Step, str, list[str], random.Random], Optional[str]]
