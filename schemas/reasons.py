"""Every dead-letter reason code, by the stage that writes it, with what it means. The README's reason table
is rendered from this (`reason_table`, checked by tests/test_reasons.py), and a test checks that every
reason the code can write is listed here."""

from __future__ import annotations

REQUEST_FAILURES = {
    "timeout": "the request timed out on every attempt",
    "connection_error": "the server could not be reached (refused, reset, dropped)",
    "http_<status>": "the server answered an HTTP error after the retries (e.g. `http_429`, `http_500`)",
    "malformed_response": "the server's answer was not a chat completion",
    "unsupported_n": "the server ignores `n`: set `openai.samples_per_request: 1`",
    "inference_error": "the engine raised on the whole batch (vLLM, transformers)",
    "llm_error": "a backend failed without saying how",
    "batch_failed": "a batch API rejected the batch (failed validation; its errors are in the message), or the "
                    "request's line is over `max_bytes_per_batch`",
    "batch_unfinished": "a batch API never answered the request: expired, cancelled or unreadable in "
                        "`max_submissions` batches, or still open after `max_wait_s`",
}

REASONS: dict[str, dict[str, str]] = {
    "read": {
        "malformed_json": "the line is not JSON",
        "not_an_object": "valid JSON, but not an object",
        "invalid_utf8": "the line is not UTF-8 (payload kept with `\\x..` escapes)",
        "row_too_large": "over `input.max_row_bytes` (the dead letter keeps `input.dead_letter_payload_bytes` of "
                         "it, with its size and sha256)",
        "invalid_unicode": "a lone UTF-16 surrogate (`\"\\ud83d\"`) in any string",
        "too_deep": "JSON nested more than 64 levels",
        "number_too_large": "a number past Python's 4,300-digit limit",
        "missing_field": "no prompt, or no id (when ids are not derived)",
        "wrong_type": "e.g. a number where the prompt should be, candidates not a list",
        "invalid_value": "unknown domain or role, empty id, no user turn",
        "empty_prompt": "the prompt has no text",
    },
    "dedupe": {"duplicate_id": "a later row with an id already seen; the first row in input order is kept"},
    "generate": {
        "empty_response": "a candidate with no text (per candidate)",
        "truncated": "a candidate cut off at the token limit (`finish_reason: length`)",
        "no_candidates": "no usable candidate left for the prompt",
        **{code: f"a generation request failed: {meaning}" for code, meaning in REQUEST_FAILURES.items()},
    },
    "verify": {"sandbox_error": "the code sandbox itself failed (not the program): no verdict, never a pair"},
    "inject": {
        "no_editable_step": "no step of the solution has an eligible error type",
        "unparseable_edit": "no edited step could be read from the model's answer",
        "unchanged": "the edited step is the original",
        "reveals_error": "the edit announces itself (\"mistake\", \"oops\", ...)",
        "multi_step": "the edit spans more than one step",
        "too_far": "the token edit distance exceeds `inject.max_token_distance`",
        "still_correct": "every equation in the edited step still holds with the original results",
        "answer_unchanged": "the solution completed from the edited step still reaches the reference",
        "unverifiable_edit": "the completed solution could not be checked (a symbolic timeout): never a pair",
        "edit_request_failed": "the self-edit request to the model failed",
    },
    "judge": {
        "unparseable_judgment": "a judge's answer could not be read, twice (the raw text is kept)",
        **{code: f"a judge request failed: {meaning}" for code, meaning in REQUEST_FAILURES.items()},
    },
    "density_ratio": {
        **{code: f"a scoring request failed: {meaning}" for code, meaning in REQUEST_FAILURES.items()},
    },
    "annotate": {
        "unparseable_annotation": "an annotator's answer could not be read, twice (the raw text is kept)",
        "suspected_flip": "the annotators confidently prefer the rejected response (`annotate.noise.action: drop`)",
        **{code: f"an annotation request failed: {meaning}" for code, meaning in REQUEST_FAILURES.items()},
    },
    "pairs": {
        "unverified": "no candidate has a verdict (no verifier for the domain, or no reference)",
        "no_passing_candidate": "nothing to contrast: no candidate passed",
        "no_failing_candidate": "nothing to contrast: every candidate passed",
        "below_min_gap": "candidates too close in score (`pairs.min_score_gap`)",
        "identical_texts": "the two sides say the same thing",
        "unjudged": "judged strategy: fewer than two rated responses",
        "below_rating_margin": "judged strategy: every rating gap under `pairs.min_rating_margin`",
        "incoming_tie": "incoming strategy: the data's primary label is a tie (no preference to learn)",
        "no_incoming_label": "incoming strategy: the row held no label, or a labelled response was dropped",
        "unscored": "density_ratio strategy: fewer than two responses scored by both models",
        "below_density_margin": "density_ratio strategy: the ratio gap is under `pairs.min_density_margin`",
        "judges_split": "judged strategy: the pairwise votes tied",
        "length_ratio": "a pair whose longer side is over `pairs.max_length_ratio` times the shorter",
        "no_pair": "no strategy made a pair and none said why",
    },
    "any": {"stage_error": "an unexpected error on this record; the traceback tail is in `error`"},
}


def known(reason: str) -> bool:
    """Whether `reason` is a registered code (HTTP statuses match `http_<status>`)."""
    if reason.startswith("http_") and reason[5:].isdigit():
        return True
    return any(reason in codes for codes in REASONS.values())


def reason_table() -> str:
    """The README's table of reason codes."""
    lines = ["| stage | reason | meaning |", "| --- | --- | --- |"]
    for stage, codes in REASONS.items():
        lines += [f"| {stage} | `{code}` | {meaning} |" for code, meaning in codes.items()]
    return "\n".join(lines) + "\n"
