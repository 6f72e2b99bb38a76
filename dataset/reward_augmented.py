"""The reward-augmented export: "Reward-Augmented Data Enhances Direct Preference Alignment of LLMs" (Zhang et
al., arXiv:2410.08067).

The rule: a pair (x, y_w, y_l) with quality scores r_w and r_l becomes two pairs conditioned on a goal score
in the system prompt: "reach r_w" prefers y_w over y_l, and "reach r_l" prefers y_l over y_w. The model
learns what each score looks like instead of only pushing y_l down, so pairs whose rejected response is
good too are not wasted. Pairs without both scores are left out, and so are pairs whose two goals would
read the same (scores within 0.005). Scores keep their source's scale, which the goal names (a verifier's
0-1, a judge's 1-5 mean, a log-density ratio).
"""

from __future__ import annotations

SCALES = {"verified": "verifier score (0-1)", "self_edit": "verifier score (0-1)", "sampled": "verifier score (0-1)",
          "judged": "mean judge rating (1-5)", "density_ratio": "log-density ratio"}
ONLY = "chosen_score IS NOT NULL AND rejected_score IS NOT NULL AND coalesce(granularity, 'solution') <> 'step'"


def select(keys: dict[str, str]) -> str:
    return "prompt, chosen, rejected, chosen_score, rejected_score, pair_source"


def goal_line(score: float, source: str) -> str:
    """The goal the system prompt states.

    >>> goal_line(4.5, "judged")
    'Write a response whose quality reaches 4.50 on the mean judge rating (1-5) scale.'
    """
    return f"Write a response whose quality reaches {score:.2f} on the {SCALES.get(source, 'quality score')} scale."


def _with_goal(prompt: list[dict], goal: str) -> list[dict]:
    if prompt and prompt[0]["role"] == "system":
        return [{"role": "system", "content": f"{goal}\n\n{prompt[0]['content']}"}, *prompt[1:]]
    return [{"role": "system", "content": goal}, *prompt]


def rows(selected: list[dict]) -> list[dict]:
    """Two goal-conditioned rows per pair, in TRL's conversational preference format."""
    out = []
    for row in selected:
        goals = [goal_line(row[f"{side}_score"], row["pair_source"]) for side in ("chosen", "rejected")]
        if goals[0] == goals[1]:
            continue  # scores too close to tell apart: the two rows would ask the same goal both ways
        for goal, chosen, rejected in ((goals[0], row["chosen"], row["rejected"]),
                                       (goals[1], row["rejected"], row["chosen"])):
            out.append({"__prompt_id": row["__prompt_id"], "prompt": _with_goal(row["prompt"], goal),
                        "chosen": chosen, "rejected": rejected})
    return out
