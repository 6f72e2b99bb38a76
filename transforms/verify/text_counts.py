"""The text counts IFEval's checkers are built on, counted as Google's reference does (words, sentences by
a real segmenter, paragraphs, capital words, keywords as whole words, placeholders, highlights, sections,
bullets) and language detection. Used by ifeval.py and prefmill's own instruction kinds (instructions.py).
"""

from __future__ import annotations

import functools
import re
from typing import Optional

_BULLET = re.compile(r"^\s*[*-]\s+\S.*$", re.MULTILINE)


def word_count(text: str) -> int:
    """Words as IFEval counts them: runs of word characters (so "don't" is two).

    >>> word_count("Don't stop: 3.14 is pi!")
    7
    """
    return len(re.findall(r"\w+", text))


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def sentence_count(text: str) -> int:
    """Sentences, by pysbd (rule-based, no model download). Line breaks join, as in IFEval's reference.

    >>> sentence_count("Bring layers, e.g. a fleece. The ridge is windy."), sentence_count("Dr. Lee left at 5 p.m. today.")
    (2, 1)
    """
    return len(sentences(text))


_WRAPPERS = str.maketrans({c: " " for c in "\"\u201c\u201d\u2018\u2019'()[]{}«»"})


def sentences(text: str) -> list[str]:
    """The sentences of a text. Quotes and brackets are set aside first: wrapped in them, twenty sentences
    would be one to the segmenter (a way to game a sentence limit), while the reference counts them."""
    joined = " ".join(re.sub(r"([!?])[!?]+", r"\1", text.translate(_WRAPPERS)).split())  # "!!!" ends once
    return [s for s in _segmenter().segment(joined) if s.strip() and re.search(r"\w", s)] if joined else []


@functools.lru_cache(maxsize=1)
def _word_tokenizer():
    from nltk.tokenize import NLTKWordTokenizer

    return NLTKWordTokenizer()


def capital_words(text: str) -> int:
    """Words in capitals, on NLTK's Treebank-style tokens (IFEval's tokenizer, no data needed).

    >>> capital_words("I saw A NASA launch in the U.S. today")
    4
    """
    return sum(1 for token in _word_tokenizer().tokenize(text) if token.isupper())


def detect_language(text: str) -> Optional[str]:
    """langdetect's answer (seeded, so the same text always gets the same answer), or None."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text)
    except LangDetectException:
        return None


def _word_pattern(word: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(word.strip())}(?!\w)", re.IGNORECASE)


# The counts both IFEval's instructions and prefmill's own kinds are built on (instructions.py).
def keyword_count(text: str, keyword: str) -> int:
    return len(_word_pattern(keyword).findall(text))


def placeholder_count(text: str) -> int:
    return len(re.findall(r"\[.*?\]", text))


def highlight_count(text: str) -> int:
    found = re.findall(r"\*[^\n\*]*\*", text) + re.findall(r"\*\*[^\n\*]*\*\*", text)
    return sum(1 for h in found if h.strip("*").strip())


def section_count(text: str, splitter: str) -> int:
    return len(re.split(r"\s?(?<!\w)" + re.escape(splitter.strip()) + r"\s?\d+\s?", text)) - 1


def bullet_count(text: str) -> int:
    return len(_BULLET.findall(text))


def paragraph_count(text: str) -> Optional[int]:
    """Paragraphs separated by `***`: None when an inner one is empty (an empty first/last one is dropped)."""
    parts = re.split(r"\s?\*\*\*\s?", text)
    count = len(parts)
    for index, part in enumerate(parts):
        if not part.strip():
            if index in (0, len(parts) - 1):
                count -= 1
            else:
                return None
    return count
