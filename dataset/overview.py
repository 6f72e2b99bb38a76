"""`prefmill show` and `prefmill diff`: what a version holds, and what changed between two versions."""

from __future__ import annotations

from typing import Optional

from prefmill.dataset.query import close_dataset, open_dataset

# What makes a pair "changed" between versions: its content and labels, not its run bookkeeping.
_CONTENT = ("md5(concat_ws('|', chosen::VARCHAR, rejected::VARCHAR, label_source, coalesce(margin::VARCHAR, ''), "
            "coalesce(strength::VARCHAR, ''), coalesce(rationale, ''), coalesce(routing::VARCHAR, '')))")


def show(uri: str, version: Optional[int] = None) -> dict:
    con, version = open_dataset(uri, version)
    try:
        # DuckDB 2 keeps a relation's result open until it is destroyed: execute() drains each query.
        schema = [(row[0], row[1]) for row in con.execute("DESCRIBE pairs").fetchall()]
        counts = {}
        for label, column in (("domain", "domain"), ("pair source", "pair_source"), ("label source", "label_source"),
                              ("chosen model", "chosen_model"), ("routing", "coalesce(routing.decision, 'none')")):
            counts[label] = con.execute(f"SELECT {column} AS k, count(*) FROM pairs GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        total = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
        dead = con.execute("SELECT count(*) FROM dead_letters").fetchall()[0][0]
    finally:
        close_dataset(con)
    return {"version": version, "pairs": total, "dead_letters": dead, "schema": schema, "counts": counts}


def _hashes(uri: str, version: int) -> dict[str, str]:
    con, _ = open_dataset(uri, version)
    try:
        return dict(con.execute(f"SELECT id, {_CONTENT} FROM pairs").fetchall())
    finally:
        close_dataset(con)


def diff(uri: str, a: int, b: int) -> dict[str, list[str]]:
    """Pair ids added, removed and changed from version `a` to version `b`."""
    old, new = _hashes(uri, a), _hashes(uri, b)
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": sorted(i for i in set(old) & set(new) if old[i] != new[i]),
    }
