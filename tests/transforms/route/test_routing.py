"""Routing: features, the uncertainty score, exact budgets, HyPER model fitting and gain routing."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefmill.pipelines.cli import main
from prefmill.schemas import JudgeSummary, Message, PreferencePair
from prefmill.transforms.route.stage import ChooseHumans
from prefmill.transforms.route import Item, PerformanceModel, RouteConfig, pair_features, select, uncertainty_score


def pair(pid: str, *, source="judged", label="ai", agreement=None, consistent=None, strength=2,
         chosen="a fine answer", rejected="another answer", domain="chat") -> PreferencePair:
    judge = JudgeSummary(judges=["j"], agreement=agreement, position_consistent=consistent) if agreement is not None else None
    return PreferencePair(id=pid, prompt_id=pid, domain=domain, prompt=[Message(role="user", content="Explain tides.")],
                          chosen=[Message(role="assistant", content=chosen)],
                          rejected=[Message(role="assistant", content=rejected)], chosen_model="a", rejected_model="b",
                          pair_source=source, label_source=label, strength=strength, margin=0.5, judge=judge,
                          run_id="r", config_hash="h")


def test_features_bins_tags_and_signals():
    f = pair_features(pair("p", agreement=0.5, consistent=False, chosen="tides come from the moon",
                           rejected="tides come from the moon and sun"))
    assert f["similarity"] == pytest.approx(5 / 7) and f["bins"]["similarity"] == "high"
    assert f["tags"]["domain"] == "chat" and f["tags"]["subject"] == "general" and f["tags"]["open_ended"] == "yes"
    assert f["position_inconsistent"] is True and f["agreement"] == 0.5 and not f["verifier_decided"]
    tagged = pair_features(pair("p"), {"subject": "science", "expertise": "expert"})
    assert (tagged["tags"]["subject"], tagged["tags"]["expertise"], tagged["tags"]["domain"]) == ("science", "expert", "chat")


def test_uncertainty_orders_unreliable_labels_first():
    calm = uncertainty_score(pair_features(pair("a", agreement=1.0, consistent=True, strength=3)), RouteConfig().weights)
    shaky = uncertainty_score(pair_features(pair("b", agreement=0.5, consistent=False, strength=1)), RouteConfig().weights)
    assert shaky > calm


def items(n: int, seed: int = 0) -> list[Item]:
    rng = random.Random(seed)
    return [Item(pair_id=f"p{i:03d}", score=rng.random(), cost=rng.choice([1.0, 2.0, 3.0]),
                 bins=("domain=chat",), eligible=i % 5 != 0) for i in range(n)]


@pytest.mark.parametrize("budget", [0, 1, 7, 40, 500])
def test_count_budget_is_exact_and_only_eligible_pairs_go_to_humans(budget):
    pool = items(100)
    chosen = select(pool, RouteConfig(enabled=True, budget=budget))
    eligible = [it for it in pool if it.eligible]
    assert len(chosen) == min(budget, len(eligible))
    assert all(next(it for it in pool if it.pair_id == pid).eligible for pid in chosen)
    top = sorted(eligible, key=lambda it: (-it.score, it.pair_id))[: len(chosen)]
    assert chosen == {it.pair_id for it in top}


def test_cost_budget_never_overspends_and_is_deterministic():
    pool = items(100)
    config = RouteConfig(enabled=True, budget=25, budget_unit="cost")
    chosen = select(pool, config)
    assert sum(it.cost for it in pool if it.pair_id in chosen) <= 25
    assert chosen == select(list(reversed(pool)), config)


def synthetic_experiments(n: int = 60) -> list[dict]:
    """A known quadratic: human labels on expert math help with diminishing returns; on chat they hurt."""
    rng = random.Random(1)
    rows = []
    for _ in range(n):
        math_, chat = rng.randint(0, 40), rng.randint(0, 40)
        score = 60 + 0.9 * math_ - 0.012 * math_ ** 2 - 0.2 * chat
        rows.append({"domain=math": math_, "domain=chat": chat, "score": score})
    return rows


def test_route_fit_recovers_a_known_quadratic(tmp_path, capsys):
    table = tmp_path / "experiments.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in synthetic_experiments()))
    assert main(["route", "fit", str(table), "--out", str(tmp_path / "model.json")]) == 0
    assert "R^2 1.000" in capsys.readouterr().out
    model = PerformanceModel.from_json((tmp_path / "model.json").read_text())
    assert model.predict({"domain=math": 10, "domain=chat": 5}) == pytest.approx(60 + 9 - 1.2 - 1.0, abs=1e-6)
    # the fitted optimum for math labels is where the true derivative vanishes: 0.9 / (2 * 0.012) = 37.5
    best = max(range(0, 60), key=lambda k: model.predict({"domain=math": k}))
    assert best in (37, 38)


def test_gain_routing_spends_only_where_predicted_gain_is_positive():
    model = PerformanceModel.fit(synthetic_experiments())
    pool = [Item(f"m{i:02d}", 0.5, 1.0, ("domain=math",), True) for i in range(60)] + \
           [Item(f"c{i:02d}", 0.9, 1.0, ("domain=chat",), True) for i in range(60)]
    chosen = select(pool, RouteConfig(enabled=True, policy="hyper_gain", model_path="x", budget=100), model)
    assert all(pid.startswith("m") for pid in chosen) and len(chosen) in (37, 38)
    mix = select(pool, RouteConfig(enabled=True, policy="hyper_mix", model_path="x", budget=20, mix_candidates=300), model)
    assert len(mix) == 20 and sum(pid.startswith("m") for pid in mix) >= 14


def test_hyper_policy_needs_a_model_and_unknown_weights_fail():
    with pytest.raises(ValueError, match="route.model_path"):
        RouteConfig(enabled=True, policy="hyper_gain")
    with pytest.raises(ValueError, match="unknown route.weights"):
        RouteConfig(weights={"vibes": 1.0})


def test_hyper_gain_in_the_pipeline_versions_the_model(tmp_path):
    from prefmill.pipelines.config import validate_config
    from prefmill.pipelines.launcher import run_config
    from prefmill.dataset import DatasetPaths, list_versions, run_query

    from support import SAMPLE

    model_path = tmp_path / "model.json"
    model_path.write_text(PerformanceModel.fit(synthetic_experiments()).to_json())
    summary = run_config(validate_config({
        "input": {"path": str(SAMPLE)}, "output": {"uri": str(tmp_path / "ds")},
        "pairs": {"strategies": ["delta"], "model_strength": ["atlas-70b", "birch-8b", "cedar-1b"]},
        "route": {"enabled": True, "policy": "hyper_gain", "model_path": str(model_path), "budget": 50},
    }), progress=False)
    _, rows = run_query(summary.uri, "SELECT domain, count(*) FROM pairs WHERE routing.decision = 'human' GROUP BY 1")
    # Gain stops at the optimum (37.5 math labels: the 38th adds exactly zero in theory, so 37 or 38),
    # and chat labels would lower the predicted score, so none go to humans.
    assert len(rows) == 1 and rows[0][0] == "math" and rows[0][1] in (37, 38)
    meta = list_versions(DatasetPaths.of(summary.uri).table("pairs"))[0].metadata["routing"]
    assert meta["policy"] == "hyper_gain" and meta["model"]["kind"] == "hyper-quadratic"


def test_llm_tagger_tags_each_prompt_once_and_falls_back_on_bad_answers(tmp_path):
    from prefmill.pipelines.config import validate_config
    from prefmill.pipelines.launcher import run_config

    from llm_server import FakeLLMServer
    from support import SAMPLE

    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"domain": "chat"' in line][:4]
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def tagger(body):
        assert body["response_format"]["json_schema"]["schema"]["required"][0] == "subject"
        if rows[0]["prompt"] in body["messages"][-1]["content"]:
            return "I think this is about hiking."  # unreadable: heuristics take over for this prompt
        return json.dumps({"subject": "everyday", "expertise": "expert", "safety_concern": "no",
                           "complexity": "single", "open_ended": "yes", "format_constraints": "no"})

    with FakeLLMServer(answer=tagger) as server:
        summary = run_config(validate_config({
            "input": {"path": str(path)}, "output": {"uri": str(tmp_path / "ds")},
            "pairs": {"strategies": ["delta"], "model_strength": ["atlas-70b", "birch-8b", "cedar-1b"]},
            "route": {"enabled": True, "budget": 2, "tagger": {"name": "tagger", "backend": "openai",
                                                               "model": "tagger", "openai": {"base_url": server.url}}},
        }), progress=False)
        assert len(server.requests) == 4  # one per prompt, not per pair
    route = summary.stage("route").extra
    assert (route["tagger_ok"], route["tagger_fallback"]) == (3, 1) and route["routed_human"] == 2


@settings(max_examples=40, deadline=None)
@given(scores=st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), max_size=300), budget=st.integers(0, 40),
       splits=st.integers(1, 5))
def test_bounded_combiner_chooses_exactly_what_select_chooses(scores, budget, splits):
    config = RouteConfig(enabled=True, budget=budget)
    items = [Item(pair_id=f"p{i:03d}", score=s, cost=1.0, bins=(), eligible=True) for i, s in enumerate(scores)]
    combine = ChooseHumans(config, None)
    combine.slack = 0  # trim at every step, so the small lists here exercise it
    accumulators = []
    for part in range(splits):  # as a runner would: partial accumulators per bundle, then a merge
        accumulator = combine.create_accumulator()
        for item in items[part::splits]:
            accumulator = combine.add_input(accumulator, item)
        accumulators.append(accumulator)
    assert combine.extract_output(combine.merge_accumulators(accumulators)) == select(items, config)


def test_bounded_combiner_keeps_memory_flat():
    combine = ChooseHumans(RouteConfig(enabled=True, budget=10), None)
    accumulator = combine.create_accumulator()
    for i in range(50_000):
        accumulator = combine.add_input(accumulator, Item(f"p{i}", (i * 7919 % 1000) / 1000, 1.0, (), True))
    assert len(accumulator) <= 2 * 10 + 1024


def test_the_shipped_routing_model_is_the_one_fitted_from_the_shipped_experiments(tmp_path):
    from support import REPO

    assert main(["route", "fit", str(REPO / "sample_data" / "experiments.csv"), "--out", str(tmp_path / "m.json")]) == 0
    shipped = PerformanceModel.from_json((REPO / "pipelines" / "configs" / "routing-model.json").read_text())
    refit = PerformanceModel.from_json((tmp_path / "m.json").read_text())
    assert shipped.features == refit.features and shipped.coefficients == pytest.approx(refit.coefficients)
    from prefmill.pipelines.config import load_config

    assert load_config(REPO / "pipelines" / "configs" / "hybrid_labelling.yaml").route.model_path == \
        "pipelines/configs/routing-model.json"
