"""InjectErrors: RISE self-editing of verified-correct solutions, by rule or by an LLM.

For each math prompt with a verified-correct candidate and a reference answer, up to `edits_per_prompt`
correct candidates get one planted error each (see `edit.py` for the choice of step and error type). The
edit is validated (`validate.py`); an accepted edit is attached to the prompt (`PromptCandidates.edits`)
for BuildPairs, a discarded one becomes a dead letter with its reason, and the prompt always goes on.
Counters: `edits_attempted`, `edits_accepted`, and `dead_<reason>` per discard reason.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Literal, Optional, Union

import apache_beam as beam
from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefmill.schemas import Candidate, PromptCandidates, SelfEdit, Span, stable_id
from prefmill.transforms.base import Reject, Stage, count
from prefmill.transforms.llm.inference import answer_groups
from prefmill.transforms.llm.registry import ModelSpec, make_handler
from prefmill.transforms.llm.requests import LLMRequest, RequestGroup
from prefmill.transforms.rise.edit import EditPlan, apply_rule, carry_forward, choose, eligible_types, token_distance
from prefmill.transforms.rise.steps import NUMBER, Solution, split_steps
from prefmill.transforms.rise.validate import check_solution, check_step

DEFAULT_TEMPLATE = """You are editing one step of a correct solution to plant a subtle error for a training exercise.

Question:
{question}

Solution so far (do not change it):
{prefix}

Step to edit:
{step}

Edit instruction: {instruction}
Change only a few tokens of this one step. Do not mention, hint at or correct the error, and do not write any
other step. Reply with the edited step only, between <edited_step> and </edited_step>."""

DEFAULT_INSTRUCTIONS = {
    "number_change": "change one number so that the calculation in this step becomes wrong",
    "value_change": "change a value (or a series of related values) used in this step, keeping the rest consistent",
    "wrong_substitution": "substitute a wrong value or symbol from the question into this step",
    "term_deletion": "delete one term from the calculation in this step",
    "operator_change": "change one arithmetic operator (+, -, x, /) in this step",
    "term_swap": "swap two terms of a subtraction or division in this step",
    "misread": "change the wording so the step misreads the question",
}


class InjectConfig(BaseModel):
    """RISE error injection (self-editing)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="plant errors in verified-correct math solutions")
    method: Literal["rule", "llm"] = Field("rule", description="rule: deterministic editor; llm: the model edits")
    edits_per_prompt: int = Field(1, gt=0, description="correct candidates edited per prompt")
    max_token_distance: int = Field(6, gt=0, description="largest token edit distance of an accepted edit")
    seed: int = Field(0, description="seed of the step, type and value choices")
    model: Optional[ModelSpec] = Field(None, description="the self-editing model (usually the policy), method llm")
    prompt_template: str = Field(DEFAULT_TEMPLATE, description="self-edit prompt; {question} {prefix} {step} {instruction}")
    instructions: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_INSTRUCTIONS),
                                         description="edit instruction per error type")

    @model_validator(mode="after")
    def _llm_needs_model(self) -> "InjectConfig":
        if self.enabled and self.method == "llm" and self.model is None:
            raise ValueError("inject.method llm needs inject.model (the self-editing model)")
        return self


@dataclass(frozen=True)
class Discard:
    candidate_id: str
    reason: str
    detail: str
    error_type: str = ""


def _diff_span(original: str, edited: str) -> tuple[int, int, int, int]:
    """Smallest differing region: (orig_start, orig_end, edit_start, edit_end), on token boundaries."""
    start = 0
    while start < min(len(original), len(edited)) and original[start] == edited[start]:
        start += 1
    end_o, end_e = len(original), len(edited)
    while end_o > start and end_e > start and original[end_o - 1] == edited[end_e - 1]:
        end_o -= 1
        end_e -= 1
    while start > 0 and re.match(r"[\w.,]", original[start - 1]):  # widen to whole tokens
        start -= 1
    while end_o < len(original) and end_e < len(edited) and re.match(r"[\w.,]", original[end_o]):
        end_o += 1
        end_e += 1
    return start, end_o, start, end_e


def eligible_candidates(pc: PromptCandidates) -> list[Candidate]:
    if pc.prompt.domain != "math" or pc.prompt.reference is None or not pc.prompt.reference.answer:
        return []
    return sorted((c for c in pc.candidates if c.verdict is not None and c.verdict.passed), key=lambda c: c.id)


def plan_edit(pc: PromptCandidates, candidate: Candidate,
              config: InjectConfig) -> tuple[Solution, Optional[EditPlan], random.Random]:
    solution = split_steps(candidate.text)
    rng = random.Random(stable_id(config.seed, pc.prompt.id, candidate.id))
    return solution, choose(solution, NUMBER.findall(pc.prompt.question), rng), rng


def finish_edit(pc: PromptCandidates, candidate: Candidate, solution: Solution, plan: EditPlan,
                edited_step: Optional[str], config: InjectConfig, *, method: str,
                editor: str = "") -> Union[SelfEdit, Discard]:
    """Validate an edited step and build the SelfEdit (or the Discard with its reason)."""
    step = solution.steps[plan.step_index]
    check = check_step(step.text, edited_step, max_token_distance=config.max_token_distance)
    if not check.ok:
        return Discard(candidate.id, check.reason, check.detail, plan.error_type)
    edited_step = edited_step.strip()
    rejected, (edit_start, _) = carry_forward(solution, plan.step_index, edited_step)
    solved = check_solution(rejected, pc.prompt.reference.answer)
    if not solved.ok:
        return Discard(candidate.id, solved.reason, solved.detail, plan.error_type)
    o_start, o_end, e_start, e_end = _diff_span(step.text, edited_step)
    return SelfEdit(
        candidate_id=candidate.id, model=candidate.model, method=method, editor=editor,
        error_type=plan.error_type, step_index=plan.step_index, prefix=solution.prefix(plan.step_index),
        original_step=step.text, edited_step=edited_step,
        original_span=Span(start=step.start + o_start, end=step.start + o_end, text=step.text[o_start:o_end]),
        edited_span=Span(start=edit_start + e_start, end=edit_start + e_end, text=edited_step[e_start:e_end]),
        rejected_solution=rejected, token_distance=token_distance(step.text, edited_step), evidence=solved.detail,
    )


def rule_edit(pc: PromptCandidates, candidate: Candidate, config: InjectConfig) -> Union[SelfEdit, Discard]:
    """Deterministic edit of one correct candidate: the seeded choice, falling back to other eligible
    (step, type) options when a rule cannot apply to the chosen one."""
    solution, plan, rng = plan_edit(pc, candidate, config)
    if plan is None:
        return Discard(candidate.id, "no_editable_step", "no step has an eligible error type")
    numbers = NUMBER.findall(pc.prompt.question)
    options = [(s.index, t) for s in solution.steps for t in eligible_types(s, numbers)]
    options.remove((plan.step_index, plan.error_type))
    rng.shuffle(options)
    for step_index, error_type in [(plan.step_index, plan.error_type)] + options:
        edited = apply_rule(solution.steps[step_index], error_type, numbers, rng)
        if edited is not None:
            return finish_edit(pc, candidate, solution, EditPlan(step_index, error_type), edited, config,
                               method="rule")
    return Discard(candidate.id, "no_editable_step", "no rule applies to any eligible step")


def _count(outcome: Union[SelfEdit, Discard]) -> Optional[Reject]:
    count("inject", "edits_attempted")
    if isinstance(outcome, SelfEdit):
        count("inject", "edits_accepted")
        count("inject", f"accepted_{outcome.error_type}")
        return None
    return Reject(outcome.reason, error=f"{outcome.error_type or 'edit'}: {outcome.detail}",
                  record_id=outcome.candidate_id)


def _attach(pc: PromptCandidates, outcomes: list[Union[SelfEdit, Discard]]):
    """Count every outcome, yield a Reject per discard, then the prompt with its accepted edits."""
    edits = []
    for outcome in outcomes:
        reject = _count(outcome)
        if reject is None:
            edits.append(outcome)
        else:
            yield reject
    yield pc.model_copy(update={"edits": pc.edits + edits})


class InjectErrors(Stage):
    """Rule-based self-editing, per prompt."""

    name = "inject"

    def __init__(self, config: InjectConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config

    def record_id(self, element: PromptCandidates) -> str:
        return element.prompt.id

    def handle(self, pc: PromptCandidates):
        outcomes = [rule_edit(pc, c, self.config) for c in eligible_candidates(pc)[: self.config.edits_per_prompt]]
        yield from _attach(pc, outcomes)


# -- LLM self-editing ------------------------------------------------------------------------------------

_TAGGED = re.compile(r"<edited_step>\s*(.*?)\s*</edited_step>", re.S)


def parse_edited_step(answer: Optional[str]) -> Optional[str]:
    """The edited step in a model's answer: between <edited_step> tags, else the whole answer.

    >>> parse_edited_step("Sure! <edited_step>Step 2: 50 - 21 = 28.</edited_step>")
    'Step 2: 50 - 21 = 28.'
    """
    if answer is None:
        return None
    match = _TAGGED.search(answer)
    return match.group(1) if match else (answer.strip() or None)


def edit_requests(pc: PromptCandidates, config: InjectConfig) -> list[LLMRequest]:
    requests = []
    for candidate in eligible_candidates(pc)[: config.edits_per_prompt]:
        solution, plan, _ = plan_edit(pc, candidate, config)
        step = solution.steps[plan.step_index] if plan else None
        content = config.prompt_template.format(
            question=pc.prompt.question, prefix=solution.prefix(plan.step_index).strip() or "(none yet)",
            step=step.text, instruction=config.instructions.get(plan.error_type, plan.error_type)) if plan else ""
        requests.append(LLMRequest(prompt_id=pc.prompt.id, model=config.model.name,
                                   messages=[{"role": "user", "content": content}], params=config.model.sampling,
                                   tag={"candidate_id": candidate.id, "plan": plan}))
    return requests


def _edit_group(pc: PromptCandidates, config: InjectConfig) -> RequestGroup:
    """The prompt's edit requests as one group; candidates with no editable step are discarded up front
    (they need no LLM call) and travel in the owner with the prompt."""
    requests, discards = [], []
    for request in edit_requests(pc, config):
        if request.tag["plan"] is None:
            discards.append(Discard(request.tag["candidate_id"], "no_editable_step",
                                    "no step has an eligible error type"))
        else:
            requests.append(request)
    return RequestGroup((pc, discards), requests)


def _outcomes(group: RequestGroup):
    # The candidates live with the prompt, not in the requests: AttachEdits finishes each edit.
    pc, discards = group.owner
    answered = [(r.request.tag["candidate_id"], r.request.tag["plan"], r) for r in group.responses]
    return pc, discards + answered


class LLMSelfEdit(beam.PTransform):
    """PromptCandidates -> (PromptCandidates, [SelfEdit | Discard]) through RunInference and the cache.

    A prompt and its edit requests go through RunInference as one RequestGroup, so the answers come back
    beside it (no join)."""

    def __init__(self, config: InjectConfig, cache_path: Optional[str], spread: bool = True) -> None:
        super().__init__()
        self.config = config
        self.cache_path = cache_path
        self.spread = spread  # False when the input is already spread over the workers (after generation)

    def expand(self, prompts):
        config = self.config
        if self.spread:
            prompts = prompts | "SpreadPrompts" >> beam.Reshuffle()  # over all workers, as for generation
        groups = prompts | "EditRequests" >> beam.Map(_edit_group, config)
        answered = answer_groups(groups, "SelfEditInference", make_handler(config.model, self.cache_path, stage="inject"))
        return answered | "Outcomes" >> beam.Map(_outcomes)


class AttachEdits(Stage):
    """The per-prompt accounting of LLM self-editing: validates each answer, attaches accepted edits."""

    name = "inject"

    def __init__(self, config: InjectConfig, run_id: str = "") -> None:
        super().__init__(run_id)
        self.config = config

    def record_id(self, element) -> str:
        return element[0].prompt.id

    def handle(self, element):
        pc, outcomes = element
        by_id = {c.id: c for c in pc.candidates}
        results: list[Union[SelfEdit, Discard]] = []
        for outcome in outcomes:
            if isinstance(outcome, Discard):
                results.append(outcome)
                continue
            candidate_id, plan, response = outcome
            candidate = by_id[candidate_id]
            if not response.ok:
                result: Union[SelfEdit, Discard] = Discard(candidate_id, "edit_request_failed",
                                                           response.error or "no answer", plan.error_type)
            else:
                solution = split_steps(candidate.text)
                result = finish_edit(pc, candidate, solution, plan, parse_edited_step(response.text), self.config,
                                     method="llm", editor=self.config.model.name)
            results.append(result)
        yield from _attach(pc, results)
