"""The HTML report: self-contained, every chart present, hostile labels escaped, renders in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from prefmill.pipelines.cli import main

SECTIONS = ["Verifier pass rate by domain and model", "Injected error types: accepted vs discarded",
            "Preference strength", "Margin", "Chosen vs rejected length", "Human vs AI routing",
            "Dead letters by stage and reason"]


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


def test_report_is_self_contained(report):
    page = report.read_text()
    assert "<script" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)  # nothing fetched


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="needs Chromium")
def test_report_renders_in_headless_chromium(report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and all(title in dom.stdout for title in SECTIONS)
    assert dom.stdout.count("<svg") >= len(SECTIONS)
    shot = subprocess.run([browser, *flags, "--window-size=900,2400", f"--screenshot={tmp_path / 'report.png'}",
                           report.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and (tmp_path / "report.png").stat().st_size > 10_000
