"""A dataset whose pairs all go to human review, shared by the review tests."""

from __future__ import annotations

import json

import pytest

from prefmill.pipelines.config import validate_config
from prefmill.pipelines.launcher import run_config

from support import SAMPLE

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> **bold** & [link](javascript:alert(1))'


@pytest.fixture
def routed(tmp_path):
    """A dataset whose 8 chat delta pairs all go to humans; one chat response is hostile markup."""
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"domain": "chat"' in line][:4]
    rows[0]["candidates"][2]["text"] = HOSTILE
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = run_config(validate_config({
        "input": {"path": str(path)}, "output": {"uri": str(tmp_path / "ds")},
        "pairs": {"strategies": ["delta"], "model_strength": ["atlas-70b", "birch-8b", "cedar-1b"]},
        "route": {"enabled": True, "budget": 8},
    }), progress=False)
    assert summary.stage("route").extra["routed_human"] == 8
    return summary.uri
