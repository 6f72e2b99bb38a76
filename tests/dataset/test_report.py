"""The HTML report: self-contained, every chart present, hostile labels escaped, renders in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from prefmill.pipelines.cli import main
from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config
from prefmill.dataset.report import build_report

from llm_server import FakeLLMServer, stand_in_model
from review_fixtures import routed  # noqa: F401  (fixture)
from support import SAMPLE

SECTIONS = ["Pairs by domain and source", "Verifier pass rate by domain and model",
            "Injected error types: accepted vs discarded", "Preference strength", "Margin on a 0-1 scale",
            "Chosen vs rejected length", "Human vs AI routing", "Dead letters by stage and reason"]


@pytest.fixture(scope="module")
def report(tmp_path_factory, quickstart_uri):
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", quickstart_uri, "--out", str(out)]) == 0
    return out


def test_report_has_every_chart_and_real_numbers(report):
    page = report.read_text()
    for title in SECTIONS:
        assert f"<h2>{title}" in page
    assert "132 pairs" in page and "math / atlas-70b" in page and "value_change" in page
    assert "pairs / no_passing_candidate" in page and "label: verifier" in page
    # counts on every bar: per-domain pairs by source, the verifier's counts behind each rate
    assert "52 (24 self_edit, 28 verified)" in page and "91.7% pass (22 of 24)" in page
    # stages that did not run have no section; margins on the 0-1 scale end in the last bin
    assert "<h2>Judges" not in page and "Judge rating margin" not in page
    assert "1.0 to 1.1" not in page and "0.9 to 1.0" in page


def test_report_is_self_contained(report):
    page = report.read_text()
    assert "<script" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)  # nothing fetched


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="needs Chromium")
def test_report_renders_in_headless_chromium(report, tmp_path):
    """What a user sees: the DOM after Chromium parsed the page, and a screenshot of it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and all(title in dom.stdout for title in SECTIONS)
    assert dom.stdout.count("<svg") >= len(SECTIONS)
    shot = subprocess.run([browser, *flags, "--window-size=900,2400", f"--screenshot={tmp_path / 'report.png'}",
                           report.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and (tmp_path / "report.png").stat().st_size > 10_000


def _judged_run(folder, mode: str, judges: list[str]) -> str:
    import json

    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"domain": "chat"' in line][:6]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chat.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeLLMServer(answer=stand_in_model) as server:
        models = [{"name": j, "backend": "openai", "model": j, "sampling": {"temperature": 0.0},
                   "openai": {"base_url": server.url}} for j in judges]
        summary = run_config(validate_config({
            "input": {"path": str(folder / "chat.jsonl")}, "output": {"uri": str(folder / "ds")},
            "verify": {"enabled": False}, "judge": {"enabled": True, "mode": mode, "models": models},
            "pairs": {"strategies": ["judged"], "min_rating_margin": 0.0},
        }), progress=False)
    return summary.uri


def test_judge_section_and_rating_margins_on_their_own_scale(tmp_path):
    pointwise = build_report(_judged_run(tmp_path / "pointwise", "pointwise", ["judge-a", "judge-b"]))
    assert "<h2>Judges" in pointwise and "Agreement between judges" in pointwise
    assert "Mean rating of chosen and rejected responses" in pointwise
    assert "Judge rating margin (rating points)" in pointwise
    assert "<h2>Verifier pass rate" not in pointwise and "<h2>Injected error types" not in pointwise
    assert "Position consistency" not in pointwise and "5.0 to 5.5" not in pointwise  # no empty chart
    pairwise = build_report(_judged_run(tmp_path / "pairwise", "pairwise", ["judge-a"]))
    assert "same verdict in both orders" in pairwise or "verdict flipped with the order" in pairwise
    assert "Judge rating margin" not in pairwise  # vote shares are on the 0-1 scale
    assert "Mean rating of chosen" not in pairwise and "<h2>Margin on a 0-1 scale" in pairwise


def test_run_charts_stay_after_a_review_import(routed, tmp_path):  # noqa: F811
    import json

    assert main(["review", "export", routed, "--to", "argilla", "--out", str(tmp_path / "ag")]) == 0
    records = json.loads((tmp_path / "ag" / "records.json").read_text())
    for record in records:
        record["responses"] = {"preference": [{"value": "response_1", "user_id": "u1"}]}
    (tmp_path / "answers.json").write_text(json.dumps(records))
    assert main(["review", "import", routed, str(tmp_path / "answers.json")]) == 0
    page = build_report(routed)
    assert "version 1" in page and "Human review: 8 answers" in page
    assert "<h2>Verifier pass rate by domain and model" in page and "no verifier" in page


def test_a_model_name_with_colons_survives_into_the_pass_rate_chart(tmp_path):
    import json

    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"domain": "math"' in line][:3]
    for row in rows:
        for candidate in row["candidates"]:
            candidate["model"] = "ollama/" + candidate["model"] + ":7b-q4"
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = run_config(validate_config({"input": {"path": str(tmp_path / "m.jsonl")},
                                          "output": {"uri": str(tmp_path / "ds")}}), progress=False)
    page = build_report(summary.uri)
    assert "math / ollama/atlas-70b:7b-q4" in page and "math / ollama/cedar-1b:7b-q4" in page
