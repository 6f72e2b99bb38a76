"""`prefmill report`: one self-contained HTML page about a dataset version, charts drawn as inline SVG.

No scripts and nothing fetched: the page opens offline. Charts: verifier pass rate by domain and model,
injected error types accepted vs discarded, strength and margin histograms, chosen vs rejected length,
human vs AI routing (and human-AI agreement after a review import), dead letters by stage and reason.
"""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Optional

from prefmill.transforms.dataset.delta import version_info
from prefmill.transforms.dataset.layout import DatasetPaths
from prefmill.transforms.dataset.query import close_dataset, open_dataset

COLORS = {"pass": "#2f855a", "fail": "#c53030", "none": "#a0aec0", "accepted": "#2f855a", "discarded": "#c53030",
          "chosen": "#2b6cb0", "rejected": "#dd6b20", "human": "#805ad5", "ai": "#319795", "bar": "#4a5568"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def bars(rows: list[tuple[str, dict[str, float]]], *, unit: str = "", width: int = 760, caption=None) -> str:
    """Horizontal stacked bars: one row per label, one segment per series (colour from COLORS).
    `caption(series)` writes the text after a bar (default: the total)."""
    if not rows:
        return "<p class='empty'>nothing to show</p>"
    label_w, row_h = 230, 24
    bar_w = width - label_w - 90  # room for the caption after the longest bar
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
        text = caption(series) if caption else f"{sum(series.values()):g}{unit}"
        parts.append(f"<text x='{x + 6:.1f}' y='{y + 15}'>{_e(text)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def legend(names: list[str]) -> str:
    return "<p class='legend'>" + " ".join(
        f"<span><i style='background:{COLORS.get(n, COLORS['bar'])}'></i>{_e(n)}</span>" for n in names) + "</p>"


def _section(title: str, body: str, note: str = "") -> str:
    return f"<section><h2>{_e(title)}</h2>{f'<p class=note>{_e(note)}</p>' if note else ''}{body}</section>"


def _pass_rates(stages: dict) -> list[tuple[str, dict[str, float]]]:
    counts: dict[str, dict[str, float]] = defaultdict(dict)
    for key, value in (stages.get("verify", {}).get("extra") or {}).items():
        if key.startswith("outcome:"):
            _, domain, model, outcome = key.split(":", 3)
            counts[f"{domain} / {model}"][outcome] = value
    rows = []
    for label in sorted(counts):
        c = counts[label]
        total = sum(c.values()) or 1
        rows.append((label, {k: round(100 * c.get(k, 0) / total, 1) for k in ("pass", "fail", "none")}))
    return rows


def build_report(uri: str, version: Optional[int] = None) -> str:
    con, version = open_dataset(uri, version)
    meta = version_info(DatasetPaths.of(uri).table("pairs"), version).metadata
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    try:
        total = q("SELECT count(*) FROM pairs")[0][0]
        by_source = q("SELECT pair_source, count(*) FROM pairs GROUP BY 1 ORDER BY 1")
        strength = q("SELECT coalesce(strength::VARCHAR, 'none'), count(*) FROM pairs GROUP BY 1 ORDER BY 1")
        margin = q("SELECT least(floor(margin * 4) / 4, 4.0)::VARCHAR AS b, count(*) FROM pairs WHERE margin IS NOT "
                   "NULL GROUP BY 1 ORDER BY min(margin)")
        lengths = q("SELECT pair_source, avg(length(chosen[-1].content)), avg(length(rejected[-1].content)) "
                    "FROM pairs GROUP BY 1 ORDER BY 1")
        routing = q("SELECT pair_source, coalesce(routing.decision, 'unrouted') AS d, count(*) FROM pairs "
                    "GROUP BY 1, 2 ORDER BY 1, 2")
        labels = q("SELECT label_source, count(*) FROM pairs GROUP BY 1 ORDER BY 1")
        dead = q("SELECT stage || ' / ' || reason, count(*) FROM dead_letters GROUP BY 1 ORDER BY 2 DESC, 1")
        discarded = q("SELECT split_part(error, ':', 1), count(*) FROM dead_letters WHERE stage = 'inject' "
                      "GROUP BY 1 ORDER BY 1")
    finally:
        close_dataset(con)
    stages = meta.get("stages") or {}
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
    review = meta.get("review")
    agreement = (f"Human review: {review['annotated']} answers, {review['agree']} agree with the AI label, "
                 f"{review['swapped']} swapped, {review['ties']} ties; agreement "
                 f"{'n/a' if review['agreement'] is None else format(review['agreement'], '.0%')}."
                 if review else "No human review imported into this version yet.")
    sections = [
        _section("Verifier pass rate by domain and model", legend(["pass", "fail", "none"]) +
                 bars(_pass_rates(stages), caption=lambda v: f"{v['pass']:g}% pass" if not v["none"] else "no verifier"),
                 "Share of candidate responses per verdict (none: no verifier)."),
        _section("Injected error types: accepted vs discarded", legend(["accepted", "discarded"]) +
                 bars(sorted(edits.items()))),
        _section("Preference strength", bars([(s, {"bar": n}) for s, n in strength])),
        _section("Margin", bars([(m, {"bar": n}) for m, n in margin]), "Bins of 0.25 (verifier scores in [0, 1], "
                 "judge ratings in rating points)."),
        _section("Chosen vs rejected length (mean characters)", legend(["chosen", "rejected"]) + bars(
            [(f"{src} chosen", {"chosen": round(c or 0)}) for src, c, _ in lengths] +
            [(f"{src} rejected", {"rejected": round(r or 0)}) for src, _, r in lengths])),
        _section("Human vs AI routing", legend(["human", "ai", "unrouted"]) + bars(sorted(route_rows.items())) +
                 bars([(f"label: {k}", {"bar": n}) for k, n in labels]), agreement),
        _section("Dead letters by stage and reason", bars([(k, {"bar": n}) for k, n in dead])),
    ]
    summary = ", ".join(f"{_e(s)} {n}" for s, n in by_source)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>prefmill report: {_e(uri)} v{version}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 820px; color: #1a202c; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }} h2 {{ font-size: 1.1rem; margin: 1.8rem 0 .4rem; }}
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
