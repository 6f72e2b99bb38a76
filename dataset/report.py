"""`prefmill report`: one self-contained HTML page about a dataset version, charts drawn as inline SVG.

No scripts and nothing fetched: the page opens offline. Charts: pairs by domain and source, verifier pass
rate by domain and model, injected error types accepted vs discarded, judges (agreement, position
consistency, ratings), strength, margins (0-1 scale and judge rating points apart), chosen vs rejected
length, human vs AI routing (and human-AI agreement after a review import), dead letters by stage and
reason. A section whose stage did not run is left out; every bar carries its count.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from typing import Optional

from prefmill.dataset.delta import list_versions, version_info
from prefmill.dataset.layout import DatasetPaths
from prefmill.dataset.query import close_dataset, open_dataset

COLORS = {"pass": "#2f855a", "fail": "#c53030", "none": "#a0aec0", "accepted": "#2f855a", "discarded": "#c53030",
          "chosen": "#2b6cb0", "rejected": "#dd6b20", "human": "#805ad5", "ai": "#319795", "bar": "#4a5568",
          "unrouted": "#a0aec0", "verified": "#2f855a", "self_edit": "#b7791f", "delta": "#2b6cb0",
          "judged": "#d53f8c"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def bars(rows: list[tuple[str, dict[str, float]]], *, unit: str = "", width: int = 760, caption=None,
         caption_w: int = 190) -> str:
    """Horizontal stacked bars: one row per label, one segment per series (colour from COLORS).
    `caption(label, series)` writes the text after a bar (default: the total)."""
    if not rows:
        return "<p class='empty'>nothing to show</p>"
    label_w, row_h = 230, 24
    bar_w = width - label_w - caption_w  # room for the caption after the longest bar
    top = max(sum(v.values()) for _, v in rows) or 1
    parts = [f"<svg role='img' width='{width}' height='{row_h * len(rows) + 8}' xmlns='http://www.w3.org/2000/svg'>"]
    for i, (label, series) in enumerate(rows):
        y, x = i * row_h + 4, label_w
        parts.append(f"<text x='{label_w - 8}' y='{y + 15}' text-anchor='end'>{_e(label)}</text>")
        for name, value in series.items():
            w = bar_w * value / top
            parts.append(f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{row_h - 6}' "
                         f"fill='{COLORS.get(name, COLORS['bar'])}'><title>{_e(name)}: {value:g}</title></rect>")
            x += w
        text = caption(label, series) if caption else _total(series, unit)
        parts.append(f"<text x='{x + 6:.1f}' y='{y + 15}'>{_e(text)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _total(series: dict[str, float], unit: str = "") -> str:
    """A bar's count: its total, and each segment's count when it is stacked.

    >>> _total({"accepted": 6, "discarded": 8}), _total({"bar": 3})
    ('14 (6 accepted, 8 discarded)', '3')
    """
    parts = [(name, value) for name, value in series.items() if value]
    total = f"{sum(series.values()):g}{unit}"
    if len(parts) < 2:
        return total
    return total + " (" + ", ".join(f"{value:g} {name}" for name, value in parts) + ")"


def legend(names: list[str]) -> str:
    return "<p class='legend'>" + " ".join(
        f"<span><i style='background:{COLORS.get(n, COLORS['bar'])}'></i>{_e(n)}</span>" for n in names) + "</p>"


def _section(title: str, body: str, note: str = "") -> str:
    return f"<section><h2>{_e(title)}</h2>{f'<p class=note>{_e(note)}</p>' if note else ''}{body}</section>"


def _pass_rates(stages: dict) -> list[tuple[str, dict[str, float], dict[str, float]]]:
    """(label, percent per outcome, count per outcome) for each domain / model the verifier saw."""
    counts: dict[str, dict[str, float]] = defaultdict(dict)
    for key, value in (stages.get("verify", {}).get("extra") or {}).items():
        if key.startswith("outcome "):  # transforms.verify.stage.outcome_key: JSON [domain, model, outcome]
            domain, model, outcome = json.loads(key[len("outcome "):])
        elif key.startswith("outcome:"):  # versions written by earlier prefmill releases: "outcome:d:m:o"
            _, domain, rest = key.split(":", 2)
            model, outcome = rest.rsplit(":", 1)
        else:
            continue
        counts[f"{domain} / {model}"][outcome] = value
    rows = []
    for label in sorted(counts):
        c = counts[label]
        total = sum(c.values()) or 1
        rows.append((label, {k: round(100 * c.get(k, 0) / total, 1) for k in ("pass", "fail", "none")}, c))
    return rows


def _pass_rate_chart(rows) -> str:
    def caption(label: str, series: dict) -> str:
        c = counts[label]
        if c.get("none") and not (c.get("pass") or c.get("fail")):
            return f"no verifier ({c['none']:g})"
        return f"{series['pass']:g}% pass ({c.get('pass', 0):g} of {sum(c.values()):g})"
    counts = {label: c for label, _, c in rows}
    return bars([(label, pct) for label, pct, _ in rows], caption=caption, caption_w=170)


def run_metadata(uri: str, version: int) -> dict:
    """The commit metadata of the run behind `version`: the version itself, or for a review import (which
    writes no stage counts) the latest run version before it, so the run's charts stay after a review."""
    for info in sorted((v for v in list_versions(DatasetPaths.of(uri).table("pairs")) if v.version <= version),
                       key=lambda v: -v.version):
        if info.metadata.get("stages"):
            return info.metadata
    return {}


def _bins(rows: list[tuple[float, int]], width: float, top: float,
          fmt: str = "{:.1f}") -> list[tuple[str, dict[str, float]]]:
    """Values in [0, top] binned by `width`, each bin labelled by its range (`top` falls in the last bin)."""
    out: dict[float, int] = defaultdict(int)
    for value, n in rows:
        out[round(width * min(int(value / width + 1e-9), round(top / width) - 1), 6)] += n
    return [(f"{fmt.format(b)} to {fmt.format(b + width)}", {"bar": out[b]}) for b in sorted(out)]


def build_report(uri: str, version: Optional[int] = None) -> str:
    con, version = open_dataset(uri, version)
    meta = version_info(DatasetPaths.of(uri).table("pairs"), version).metadata
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    try:
        total = q("SELECT count(*) FROM pairs")[0][0]
        by_source = q("SELECT pair_source, count(*) FROM pairs GROUP BY 1 ORDER BY 1")
        by_domain = q("SELECT domain, pair_source, count(*) FROM pairs GROUP BY 1, 2 ORDER BY 1, 2")
        strength = q("SELECT coalesce(strength::VARCHAR, 'none'), count(*) FROM pairs GROUP BY 1 ORDER BY 1")
        # two scales: verifier scores, delta rank gaps and pairwise vote shares live in [0, 1]; pointwise
        # judges' mean-rating gaps are in rating points (1-5)
        unit_margins = q("SELECT margin, count(*) FROM pairs WHERE margin IS NOT NULL AND NOT "
                         "(pair_source = 'judged' AND chosen_score IS NOT NULL) GROUP BY 1")
        rating_margins = q("SELECT margin, count(*) FROM pairs WHERE margin IS NOT NULL AND pair_source = 'judged' "
                           "AND chosen_score IS NOT NULL GROUP BY 1")
        lengths = q("SELECT pair_source, avg(length(chosen[-1].content)), avg(length(rejected[-1].content)), count(*) "
                    "FROM pairs GROUP BY 1 ORDER BY 1")
        routing = q("SELECT pair_source, coalesce(routing.decision, 'unrouted') AS d, count(*) FROM pairs "
                    "GROUP BY 1, 2 ORDER BY 1, 2")
        labels = q("SELECT label_source, count(*) FROM pairs GROUP BY 1 ORDER BY 1")
        judged = q("SELECT count(*) FROM pairs WHERE judge IS NOT NULL")[0][0]
        agreement = q("SELECT judge.agreement, count(*) FROM pairs WHERE judge.agreement IS NOT NULL GROUP BY 1")
        positions = q("SELECT CASE WHEN judge.position_consistent THEN 'same verdict in both orders' "
                      "ELSE 'verdict flipped with the order' END, count(*) FROM pairs "
                      "WHERE judge.position_consistent IS NOT NULL GROUP BY 1 ORDER BY 1 DESC")
        ratings = q("SELECT side, score, count(*) FROM (SELECT 'chosen' AS side, chosen_score AS score FROM pairs "
                    "WHERE pair_source = 'judged' AND chosen_score IS NOT NULL UNION ALL SELECT 'rejected', "
                    "rejected_score FROM pairs WHERE pair_source = 'judged' AND rejected_score IS NOT NULL) "
                    "GROUP BY 1, 2")
        dead = q("SELECT stage || ' / ' || reason, count(*) FROM dead_letters GROUP BY 1 ORDER BY 2 DESC, 1")
        discarded = q("SELECT split_part(error, ':', 1), count(*) FROM dead_letters WHERE stage = 'inject' "
                      "GROUP BY 1 ORDER BY 1")
    finally:
        close_dataset(con)
    run = run_metadata(uri, version) if not meta.get("stages") else meta
    stages = run.get("stages") or {}
    accepted = {k[len("accepted_"):]: v for k, v in (stages.get("inject", {}).get("extra") or {}).items()
                if k.startswith("accepted_")}
    edits = defaultdict(dict)
    for kind, value in accepted.items():
        edits[kind]["accepted"] = value
    for kind, value in discarded:
        edits[kind]["discarded"] = value
    route_rows = defaultdict(dict)
    for source, decision, n in routing:
        route_rows[source][decision] = n
    domain_rows = defaultdict(dict)
    for domain, source, n in by_domain:
        domain_rows[domain][source] = n
    rating_rows = defaultdict(dict)
    for side, score, n in ratings:
        low = min(0.5 * int(score / 0.5 + 1e-9), 4.5)  # a 5.0 belongs to the last bin, 4.5 to 5.0
        label = f"{low:.1f} to {low + 0.5:.1f}"
        rating_rows[label][side] = rating_rows[label].get(side, 0) + n
    review = meta.get("review")
    agreement_note = (f"Human review: {review['annotated']} answers, {review['agree']} agree with the AI label, "
                      f"{review['swapped']} swapped, {review['ties']} ties; agreement "
                      f"{'n/a' if review['agreement'] is None else format(review['agreement'], '.0%')}."
                      if review else "No human review imported into this version yet.")
    sources = sorted({s for _, s, _ in by_domain})
    sections = [_section("Pairs by domain and source", legend(sources) + bars(sorted(domain_rows.items())))]
    pass_rates = _pass_rates(stages)  # none when verification was off
    if pass_rates:
        sections.append(_section("Verifier pass rate by domain and model", legend(["pass", "fail", "none"]) +
                                 _pass_rate_chart(pass_rates),
                                 "Share of candidate responses per verdict (none: no verifier); counts after it."))
    if "inject" in stages and (edits or "edits_accepted" in stages["inject"].get("extra", {})):
        sections.append(_section("Injected error types: accepted vs discarded", legend(["accepted", "discarded"]) +
                                 bars(sorted(edits.items()))))
    if "judge" in stages or judged:
        charts = [("Agreement between judges (share of judges preferring the chosen side)",
                   bars([(f"{a:.0%}", {"bar": n}) for a, n in sorted(agreement)]), agreement),
                  ("Position consistency (pairwise judges, both orders)",
                   bars([(k, {"bar": n}) for k, n in positions]), positions),
                  ("Mean rating of chosen and rejected responses (pointwise judges, 1-5)",
                   legend(["chosen", "rejected"]) + bars(sorted(rating_rows.items())), rating_rows)]
        sections.append(_section("Judges", "".join(f"<h3>{_e(title)}</h3>{chart}" for title, chart, data in charts
                                                   if data), f"{judged} pairs carry a judge summary."))
    sections.append(_section("Preference strength", bars([(s, {"bar": n}) for s, n in strength])))
    if unit_margins:
        sections.append(_section("Margin on a 0-1 scale", bars(_bins(unit_margins, 0.1, 1.0)),
                                 "Verifier score gaps, delta rank gaps and pairwise vote shares, in bins of 0.1."))
    if rating_margins:
        sections.append(_section("Judge rating margin (rating points)", bars(_bins(rating_margins, 0.5, 4.0)),
                                 "Pointwise judges: chosen mean rating minus rejected mean rating, bins of 0.5."))
    sections.append(_section("Chosen vs rejected length (mean characters)", legend(["chosen", "rejected"]) + bars(
        [(f"{src} chosen", {"chosen": round(c or 0)}) for src, c, _, _ in lengths] +
        [(f"{src} rejected", {"rejected": round(r or 0)}) for src, _, r, _ in lengths]),
        "Pairs per source: " + ", ".join(f"{src} {n}" for src, _, _, n in lengths) + "."))
    if "route" in stages or review:
        sections.append(_section("Human vs AI routing", legend(["human", "ai", "unrouted"]) +
                                 bars(sorted(route_rows.items())) +
                                 bars([(f"label: {k}", {"bar": n}) for k, n in labels]), agreement_note))
    else:
        sections.append(_section("Labels", bars([(f"label: {k}", {"bar": n}) for k, n in labels])))
    if dead:
        sections.append(_section("Dead letters by stage and reason", bars([(k, {"bar": n}) for k, n in dead])))
    summary = ", ".join(f"{_e(s)} {n}" for s, n in by_source)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>prefmill report: {_e(uri)} v{version}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 820px; color: #1a202c; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }} h2 {{ font-size: 1.1rem; margin: 1.8rem 0 .4rem; }}
h3 {{ font-size: .95rem; margin: 1rem 0 .3rem; }}
svg text {{ font: 12px system-ui, sans-serif; fill: #2d3748; }} .note, .meta {{ color: #4a5568; }}
.legend span {{ margin-right: 1rem; }} .legend i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
section {{ border-top: 1px solid #e2e8f0; }}
</style></head><body>
<h1>prefmill dataset report</h1>
<p class="meta">{_e(uri)}, version {version}, run {_e(meta.get("run_id"))}, config {_e(meta.get("config_hash"))},
schema version {_e(meta.get("schema_version"))}. {total} pairs: {summary}.</p>
{"".join(sections)}
</body></html>
"""
