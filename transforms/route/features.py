"""Features of a preference pair for routing (HyPER): textual features, descriptive tags, label signals.

Textual: prompt and response lengths, their difference, lexical similarity of the two responses (Jaccard
over word sets) and overlap (shared words over the shorter response's), each binned low/moderate/high.
Tags: domain, subject, expertise, safety concern, complexity of intents, open-endedness and format
constraints, from light keyword heuristics (no model needed). Label signals: verifier-decided or not,
judge agreement and position consistency, margin.
"""

from __future__ import annotations

import re
from typing import Optional

from prefmill.schemas import PreferencePair

_WORD = re.compile(r"[a-z0-9']+")
BINS = ("low", "moderate", "high")
SUBJECTS = {
    "math": r"\b(?:solve|equation|sum|fraction|percent|probability|integer|area|angle|ratio|average)\b",
    "coding": r"\b(?:python|function|code|program|list|string|algorithm|array|return)\b",
    "science": r"\b(?:atom|cell|energy|planet|chemical|physics|biology|climate|weather|volcano)\b",
    "writing": r"\b(?:write|poem|essay|story|letter|blurb|slogan|note|title|paragraph)\b",
    "everyday": r"\b(?:pack|recipe|cook|plant|running|hiking|meeting|email|bakery|cat|garden)\b",
}
SAFETY = r"\b(?:weapon|kill|poison|suicide|self-harm|drug|hack|explosive|steal|abuse|violence|medical|dosage)\b"
EXPERT = r"\b(?:theorem|derivative|integral|asymptotic|complexity|polynomial|mitochondri\w*|jurisdiction|dosage|eigen\w*)\b"
FORMAT = r"\b(?:json|bullet|list|words|sentences|paragraphs|lowercase|capital|title|format|exactly|at most|at least)\b"
OPEN = r"\b(?:suggest|ideas|opinion|explain|describe|write|how can|what should|recommend|why)\b"


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def bin_value(value: float, low: float, high: float) -> str:
    """low below `low`, high at or above `high`, else moderate.

    >>> bin_value(0.1, 0.3, 0.7), bin_value(0.5, 0.3, 0.7), bin_value(0.9, 0.3, 0.7)
    ('low', 'moderate', 'high')
    """
    return "low" if value < low else "high" if value >= high else "moderate"


def textual(prompt: str, chosen: str, rejected: str) -> dict[str, float]:
    p, c, r = words(prompt), words(chosen), words(rejected)
    cs, rs = set(c), set(r)
    union = cs | rs
    return {
        "prompt_len": len(p), "chosen_len": len(c), "rejected_len": len(r),
        "len_diff": abs(len(c) - len(r)) / max(1, max(len(c), len(r))),
        "similarity": len(cs & rs) / len(union) if union else 1.0,
        "overlap": len(cs & rs) / max(1, min(len(cs), len(rs))),
    }


def tags(prompt: str, domain: str, chosen: str = "", rejected: str = "") -> dict[str, str]:
    """Descriptive tags from keyword heuristics (an LLM tagger can replace them).

    >>> tags("Write a poem about rain in exactly three lines.", "instruction")["format_constraints"]
    'yes'
    """
    text = prompt.lower()
    subject = next((name for name, pattern in SUBJECTS.items() if re.search(pattern, text)), "general")
    questions = len(re.findall(r"\?", prompt)) + len(re.findall(r"\b(?:and then|also|then)\b", text))
    return {
        "domain": domain,
        "subject": subject,
        "expertise": "expert" if re.search(EXPERT, text) else "general",
        "safety_concern": "yes" if re.search(SAFETY, text) else "no",
        "complexity": "multi" if questions >= 2 or len(words(prompt)) > 60 else "single",
        "open_ended": "yes" if re.search(OPEN, text) and domain not in ("math", "code") else "no",
        "format_constraints": "yes" if re.search(FORMAT, text) or domain == "instruction" else "no",
    }


TAG_VALUES = {
    "subject": [*SUBJECTS, "general"], "expertise": ["general", "expert"], "safety_concern": ["no", "yes"],
    "complexity": ["single", "multi"], "open_ended": ["no", "yes"], "format_constraints": ["no", "yes"],
}


def pair_features(pair: PreferencePair, llm_tags: Optional[dict[str, str]] = None) -> dict[str, object]:
    """Everything a routing policy reads about one pair: numbers, bins, tags and label signals.
    `llm_tags` (from the LLM tagger) replace the heuristic tags they cover."""
    prompt = " ".join(m.content for m in pair.prompt if m.role == "user")
    values = textual(prompt, pair.chosen[-1].content, pair.rejected[-1].content)
    judge = pair.judge
    return {
        **values,
        "bins": {
            "prompt_len": bin_value(values["prompt_len"], 20, 60),
            "len_diff": bin_value(values["len_diff"], 0.2, 0.5),
            "similarity": bin_value(values["similarity"], 0.3, 0.6),
            "overlap": bin_value(values["overlap"], 0.4, 0.8),
        },
        "tags": {**tags(prompt, pair.domain), **(llm_tags or {})},
        "verifier_decided": pair.label_source == "verifier",
        "agreement": judge.agreement if judge and judge.agreement is not None else None,
        "position_inconsistent": bool(judge and judge.position_consistent is False),
        "margin": pair.margin,
        "strength": pair.strength,
    }


def bin_keys(features: dict) -> list[str]:
    """The tag-bin names a pair falls in, e.g. `domain=chat`, `similarity=high` (HyPER's count features)."""
    keys = [f"{k}={v}" for k, v in features["tags"].items()]
    keys += [f"{k}={v}" for k, v in features["bins"].items()]
    return sorted(keys)


def normalized_margin(pair_margin: Optional[float], strength: Optional[int]) -> float:
    if strength is not None:
        return min(1.0, abs(strength) / 3)
    return min(1.0, abs(pair_margin or 0.0))
