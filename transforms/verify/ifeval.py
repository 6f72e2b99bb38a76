"""IFEval's verifiable instructions, keyed by IFEval's own instruction ids and kwargs, strict and loose.

Implements the 25 instructions of "Instruction-Following Evaluation for Large Language Models" (Zhou et al.,
2023), as Google's reference checkers define them: the same ids (`keywords:existence`,
`length_constraints:number_words`, ...), the same kwargs (`num_words`, `relation` = "less than" / "at
least", ...), the same counting rules, and the same two modes:

- strict: the response as it is (an empty or whitespace-only response never passes);
- loose: the response also passes when any of its variants does: without its first line, its last line,
  or both, each with and without markdown asterisks.

prefmill is stricter than the reference only where the reference is plainly wrong (README, "IFEval
deviations"): keywords match as whole words, not substrings or regexes; `P.P.S.` does not satisfy `P.S.`;
`---` rules, `-5 degrees` and `*italic*` lines are not bullets; a section splitter must be a whole word;
`NaN`/`Infinity` are not JSON; a failed language detection is not a pass; a full-width comma is a comma;
sentences are split by a real segmenter that does not break after `e.g.`, `i.e.`, `etc.` or inside
parentheses; the nth paragraph is the nth non-empty one; the language of text in capitals is detected on
its lowercase form.

References: Instruction-Following Evaluation for Large Language Models (https://arxiv.org/abs/2311.07911)
"""

from __future__ import annotations

import collections
import json
import re
from typing import Callable, Optional

from prefmill.transforms.verify.text_counts import (  # noqa: F401  (sentences: re-exported for instructions.py)
    _word_pattern, bullet_count, capital_words, detect_language, highlight_count, keyword_count,
    paragraph_count, placeholder_count, section_count, sentence_count, sentences, word_count,
)

Check = Callable[[str, dict, str], tuple[bool, str]]
LESS, AT_LEAST = "less than", "at least"
CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
LANGUAGES = {  # IFEval's language codes (langdetect's)
    "en", "es", "pt", "ar", "hi", "fr", "ru", "de", "ja", "it", "bn", "uk", "th", "ur", "ta", "te", "bg", "ko",
    "pl", "he", "fa", "vi", "ne", "sw", "kn", "mr", "gu", "pa", "ml", "fi"}


class KwargsError(ValueError):
    """An instruction's kwargs are missing or of the wrong type."""


def _int(kwargs: dict, key: str) -> int:
    value = kwargs.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise KwargsError(f"{key} must be an integer, got {value!r}")
    return value


def _text(kwargs: dict, key: str) -> str:
    value = kwargs.get(key)
    if not isinstance(value, str) or not value:
        raise KwargsError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _relation(kwargs: dict, key: str = "relation") -> str:
    value = kwargs.get(key)
    if value not in (LESS, AT_LEAST):
        raise KwargsError(f"{key} must be {LESS!r} or {AT_LEAST!r}, got {value!r}")
    return value


def _compare(count: int, relation: str, target: int) -> bool:
    return count < target if relation == LESS else count >= target


def _keywords_existence(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    keywords = kw.get("keywords")
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        raise KwargsError(f"keywords must be a list of strings, got {keywords!r}")
    missing = [k for k in keywords if not _word_pattern(k).search(text)]
    return not missing, f"missing {missing}" if missing else "every keyword present"


def _keyword_frequency(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    keyword, target, relation = _text(kw, "keyword"), _int(kw, "frequency"), _relation(kw)
    count = keyword_count(text, keyword)
    return _compare(count, relation, target), f"{keyword!r} {count} times, required {relation} {target}"


def _forbidden_words(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    words = kw.get("forbidden_words")
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise KwargsError(f"forbidden_words must be a list of strings, got {words!r}")
    used = [w for w in words if _word_pattern(w).search(text)]
    return not used, f"used {used}" if used else "no forbidden word"


def _letter_frequency(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    letter, target, relation = _text(kw, "letter"), _int(kw, "let_frequency"), _relation(kw, "let_relation")
    if len(letter) != 1:
        raise KwargsError(f"letter must be one character, got {letter!r}")
    count = collections.Counter(text.lower())[letter.lower()]
    return _compare(count, relation, target), f"letter {letter!r} {count} times, required {relation} {target}"


def _response_language(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    language = _text(kw, "language")
    if language not in LANGUAGES:
        raise KwargsError(f"language {language!r} is not one of IFEval's codes")
    found = detect_language(text)
    return found == language, f"detected {found or 'nothing'}, required {language}"


def _number_sentences(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    target, relation = _int(kw, "num_sentences"), _relation(kw)
    count = sentence_count(text)
    return _compare(count, relation, target), f"{count} sentences, required {relation} {target}"


def _number_paragraphs(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    target = _int(kw, "num_paragraphs")
    count = paragraph_count(text)
    return count == target, f"{'an empty paragraph' if count is None else count} (*** separated), required {target}"


def _number_words(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    target, relation = _int(kw, "num_words"), _relation(kw)
    count = word_count(text)
    return _compare(count, relation, target), f"{count} words, required {relation} {target}"


def _nth_paragraph_first_word(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    total, nth, first = _int(kw, "num_paragraphs"), _int(kw, "nth_paragraph"), _text(kw, "first_word")
    paragraphs = [p for p in re.split(r"\n\n", text) if p.strip()]
    if len(paragraphs) != total or not 1 <= nth <= len(paragraphs):
        return False, f"{len(paragraphs)} paragraphs, required {total}"
    word = paragraphs[nth - 1].strip().split()[0].lstrip("'").lstrip('"')
    got = ""
    for letter in word:
        if letter in ".,?!'\"":
            break
        got += letter.lower()
    return got == first.lower(), f"paragraph {nth} starts with {got!r}, required {first!r}"


def _placeholders(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    target = _int(kw, "num_placeholders")
    count = placeholder_count(text)
    return count >= target, f"{count} [placeholders], required at least {target}"


def _postscript(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    marker = _text(kw, "postscript_marker").strip()
    lowered = text.lower()
    if marker.lower().replace(" ", "") in ("p.p.s", "p.p.s."):
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker.lower().replace(" ", "") == "p.s.":
        pattern = r"(?<!p\.)(?<!p\. )p\.\s?s\..*$"  # stricter than the reference: not the P.S. inside P.P.S.
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    found = re.search(pattern, lowered, flags=re.MULTILINE)
    return bool(found), f"postscript {marker!r} {'found' if found else 'missing'}"




def _bullet_lists(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    target = _int(kw, "num_bullets")
    count = bullet_count(text)
    return count == target, f"{count} bullet points, required {target}"


def _constrained_response(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    body = text.strip()
    found = [option for option in CONSTRAINED_OPTIONS if option in body]
    return bool(found), f"contains {found[0]!r}" if found else "none of the allowed answers"


def _highlighted_sections(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    target = _int(kw, "num_highlights")
    count = highlight_count(text)
    return count >= target, f"{count} highlighted sections, required at least {target}"


def _multiple_sections(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    splitter, target = _text(kw, "section_spliter").strip(), _int(kw, "num_sections")
    count = section_count(text, splitter)
    return count >= target, f"{count} {splitter} sections, required at least {target}"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _json_format(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    body = text.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        if body.startswith(fence):
            body = body[len(fence):]
            break
    body = body[:-3] if body.endswith("```") else body
    try:
        json.loads(body.strip(), parse_constant=_reject_constant)
        return True, "valid JSON"
    except ValueError as exc:
        return False, f"not JSON ({str(exc)[:80]})"


def _title(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    titles = [t for t in re.findall(r"<<[^\n]+>>", text) if t.lstrip("<").rstrip(">").strip()]
    return bool(titles), f"title {titles[0]}" if titles else "no <<title>>"


def _repeat_prompt(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    request = _text(kw, "prompt_to_repeat")
    ok = text.strip().lower().startswith(request.strip().lower())
    return ok, "repeats the request first" if ok else "does not start with the request"


def _two_responses(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    parts = text.split("******")
    kept = []
    for index, part in enumerate(parts):
        if not part.strip():
            if index not in (0, len(parts) - 1):
                return False, "an empty response between separators"
        else:
            kept.append(part)
    ok = len(kept) == 2 and kept[0].strip() != kept[1].strip()
    return ok, f"{len(kept)} response(s) separated by ******" + ("" if ok else ", need two different ones")


def _end_checker(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    phrase = _text(kw, "end_phrase")
    ok = text.strip().strip('"').lower().endswith(phrase.strip().lower())
    return ok, f"ends with {text.strip()[-40:]!r}"


def _start_checker(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    phrase = _text(kw, "start_phrase")
    ok = text.strip().strip('"').lower().startswith(phrase.strip().lower())
    return ok, f"starts with {text.strip()[:40]!r}"


def _quotation(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    body = text.strip()
    ok = len(body) > 1 and body[0] == '"' and body[-1] == '"'
    return ok, "wrapped in double quotes" if ok else "not wrapped in double quotes"


def _capital_word_frequency(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    target, relation = _int(kw, "capital_frequency"), _relation(kw, "capital_relation")
    count = capital_words(text)
    return _compare(count, relation, target), f"{count} words in capitals, required {relation} {target}"


def _english_case(upper: bool) -> Check:
    def check(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
        cased = text.isupper() if upper else text.islower()
        # langdetect's profiles are of ordinary text: in capitals, English reads as German or Dutch, so the
        # language of text in capitals is detected on its lowercase form (a deviation from the reference).
        language = detect_language(text.lower() if upper else text) if cased else None
        wanted = "capitals" if upper else "lowercase"
        return cased and language == "en", f"{'all' if cased else 'not all'} {wanted}, language {language}"
    return check


def _no_comma(text: str, kw: dict, prompt: str) -> tuple[bool, str]:
    count = text.count(",") + text.count("\uff0c")
    return count == 0, f"{count} comma(s)"


CHECKS: dict[str, Check] = {
    "keywords:existence": _keywords_existence,
    "keywords:frequency": _keyword_frequency,
    "keywords:forbidden_words": _forbidden_words,
    "keywords:letter_frequency": _letter_frequency,
    "language:response_language": _response_language,
    "length_constraints:number_sentences": _number_sentences,
    "length_constraints:number_paragraphs": _number_paragraphs,
    "length_constraints:number_words": _number_words,
    "length_constraints:nth_paragraph_first_word": _nth_paragraph_first_word,
    "detectable_content:number_placeholders": _placeholders,
    "detectable_content:postscript": _postscript,
    "detectable_format:number_bullet_lists": _bullet_lists,
    "detectable_format:constrained_response": _constrained_response,
    "detectable_format:number_highlighted_sections": _highlighted_sections,
    "detectable_format:multiple_sections": _multiple_sections,
    "detectable_format:json_format": _json_format,
    "detectable_format:title": _title,
    "combination:repeat_prompt": _repeat_prompt,
    "combination:two_responses": _two_responses,
    "startend:end_checker": _end_checker,
    "startend:start_checker": _start_checker,
    "startend:quotation": _quotation,
    "change_case:capital_word_frequency": _capital_word_frequency,
    "change_case:english_capital": _english_case(upper=True),
    "change_case:english_lowercase": _english_case(upper=False),
    "punctuation:no_comma": _no_comma,
}


def is_empty(text: Optional[str]) -> bool:
    """No letter or digit at all: whitespace, zero-width characters, or punctuation only say nothing.

    >>> is_empty("\u200b"), is_empty("***"), is_empty("ok")
    (True, True, False)
    """
    return not text or not any(ch.isalnum() for ch in text)


def loose_variants(text: str) -> list[str]:
    """IFEval's loose variants: the response, then without its first line, last line, or both; each also
    without markdown asterisks.

    >>> loose_variants("Sure!\\n*yes*\\nBye")[:2]
    ['Sure!\\n*yes*\\nBye', 'Sure!\\nyes\\nBye']
    """
    lines = text.split("\n")
    trimmed = ["\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return [text, text.replace("*", "")] + trimmed + [t.replace("*", "") for t in trimmed]


def check_instruction(instruction_id: str, kwargs: dict, response: str, prompt: str = "") -> dict:
    """{"strict": bool, "loose": bool, "detail": str} for one IFEval instruction.

    >>> check_instruction("punctuation:no_comma", {}, "Fine, thanks")["strict"]
    False
    >>> check_instruction("length_constraints:number_words", {"num_words": 3, "relation": "less than"}, "  ")
    {'strict': False, 'loose': False, 'detail': 'the response is empty'}
    """
    check = CHECKS.get(instruction_id)
    if check is None:
        raise KwargsError(f"unknown IFEval instruction id {instruction_id!r}")
    kwargs = {k: v for k, v in (kwargs or {}).items() if v is not None}
    if is_empty(response):
        return {"strict": False, "loose": False, "detail": "the response is empty"}
    strict, detail = check(response, kwargs, prompt)
    loose = strict or any(variant.strip() and check(variant, kwargs, prompt)[0] for variant in loose_variants(response))
    return {"strict": bool(strict), "loose": bool(loose), "detail": detail}
