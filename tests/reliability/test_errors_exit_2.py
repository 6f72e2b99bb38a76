"""Usage and data errors exit 2 with one line that names the problem, never a traceback."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

from prefmill.pipelines.cli import main

from review_fixtures import routed  # noqa: F401 - the fixture
from support import REPO, SAMPLE

BAD_REVIEW_FILES = {
    "not_json": b"{not json",
    "not_utf8": b'[{"data": {"pair_id": "caf\xe9"}}]',
    "a_number": b"42",
    "strings": b'["a", "b"]',
    "unknown_objects": b'[{"something": 1}]',
    "label_studio_without_pair_id": b'[{"data": {}, "annotations": [{"result": [{"from_name": "preference", '
                                    b'"value": {"choices": ["response_1"]}}]}]}]',
    "label_studio_bad_result": b'[{"data": {"pair_id": "p"}, "annotations": [{"result": [{"from_name": '
                               b'"preference", "value": {}}]}]}]',
    "argilla_without_ids": b'[{"metadata": {}, "responses": {"preference": [{"value": "tie"}]}}]',
    "empty_list": b"[]",
}


@pytest.mark.parametrize("kind", sorted(BAD_REVIEW_FILES))
def test_malformed_review_files(routed, tmp_path, capsys, kind):
    path = tmp_path / f"{kind}.json"
    path.write_bytes(BAD_REVIEW_FILES[kind])
    assert main(["review", "import", routed, str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("target", ["missing.json", "a_folder"])
def test_review_file_that_is_not_a_file(routed, tmp_path, capsys, target):
    (tmp_path / "a_folder").mkdir()
    assert main(["review", "import", routed, str(tmp_path / target)]) == 2
    assert "cannot read the review file" in capsys.readouterr().err


def test_an_output_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    assert main(["run", str(REPO / "pipelines/configs/quickstart.yaml"), "--output", str(target)]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err


def test_a_full_disk_during_the_commit_then_the_next_run_commits_it(tmp_path, monkeypatch, capsys):
    import prefmill.pipelines.launcher as launcher

    real = launcher.commit_run_files
    calls = {"n": 0}

    def full_disk(*args, **kwargs):
        calls["n"] += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"input": {"path": str(SAMPLE)}, "output": {"uri": str(tmp_path / "ds")}}))
    monkeypatch.setattr(launcher, "commit_run_files", full_disk)
    assert main(["run", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "next prefmill run" in err and "Traceback" not in err
    monkeypatch.setattr(launcher, "commit_run_files", real)
    assert main(["run", str(config), "--no-progress"]) == 0
    assert "recovered run" in capsys.readouterr().out


def test_input_on_the_command_line_from_another_folder(tmp_path):
    done = subprocess.run([sys.executable, "-m", "prefmill.pipelines.cli", "run",
                           str(REPO / "pipelines/configs/quickstart.yaml"), "--input", str(SAMPLE),
                           "--output", str(tmp_path / "ds"), "--no-progress"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stderr[-800:]
