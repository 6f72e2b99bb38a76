"""The verifiers, one registry line per domain: what part of the prompt's reference it checks against, and
the function that gives a candidate its Verdict.

Adding a verifier: one module with `check(prompt, candidate, verify_config) -> Verdict` (a pure function of
the texts; return `passed=None` when it cannot decide, never a guess) and one line here; its domain is then
a name input rows and config may use (`known_domains`). The README's "Extending prefmill" has an example.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from prefmill.schemas import Candidate, Prompt, Verdict
from prefmill.schemas.plugins import add_plugins, load_plugins
from prefmill.transforms.verify.verifier import Verifier


def _math(prompt: Prompt, candidate: Candidate, config) -> Verdict:
    from prefmill.transforms.verify.math_answer import verify_math
    from prefmill.transforms.verify.symbolic import shared_checker

    return verify_math(candidate.text, prompt.reference.answer, fallback=config.math_fallback,
                       checker=shared_checker(config.math_timeout_s))


def _code(prompt: Prompt, candidate: Candidate, config) -> Verdict:
    from prefmill.transforms.verify.code import verify_code
    from prefmill.transforms.verify.sandbox import shared_sandbox

    sandbox = shared_sandbox(config.sandbox_workers or None, config.sandbox)
    return verify_code(candidate.text, prompt.reference.tests, sandbox=sandbox, limits=config.code_limits)


def _instructions(prompt: Prompt, candidate: Candidate, config) -> Verdict:
    from prefmill.transforms.verify.instructions import verify_instructions

    return verify_instructions(candidate.text, prompt.reference.constraints, prompt=prompt.question)


VERIFIERS: dict[str, Verifier] = {v.domain: v for v in (
    Verifier("math", "math", "a reference answer", lambda r: bool(r.answer), _math),
    Verifier("code", "code", "tests", lambda r: r.tests is not None, _code),
    Verifier("instruction", "instructions", "constraints", lambda r: bool(r.constraints), _instructions),
)}


def known_domains() -> list[str]:
    """chat (open prompts: judges or plugins decide them) and every verifier's domain."""
    return ["chat", *sorted(VERIFIERS)]


def check_domain(name: str) -> str:
    """A domain name a config or input row may use, or ValueError naming the known ones and the fix."""
    if name not in VERIFIERS and name != "chat":
        raise ValueError(f"unknown domain {name!r}: use one of {', '.join(known_domains())} (a new domain "
                         "needs a verifier: README 'Extending prefmill')")
    return name


KnownDomain = Annotated[str, AfterValidator(check_domain)]

# last: a plugin's module may import this one (its names above exist by then)
add_plugins(VERIFIERS, load_plugins("prefmill.verifiers"), "prefmill.verifiers", key="domain")
