"""The `prefmill` command line, called in-process through its entry function."""

from __future__ import annotations

import csv
import io
import json

import pytest

from prefmill.pipelines.cli import main

from support import REPO, SAMPLE


def write_config(tmp_path, **extra) -> str:
    path = tmp_path / "run.yaml"
    lines = [f"input:\n  path: {SAMPLE}\n", f"output:\n  uri: {tmp_path / 'ds'}\n"]
    lines += [f"{k}:\n" + "".join(f"  {kk}: {vv}\n" for kk, vv in v.items()) for k, v in extra.items()]
    path.write_text("".join(lines))
    return str(path)


def test_validate_run_versions_sql(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["validate", config]) == 0
    assert "valid (config hash" in capsys.readouterr().out

    assert main(["run", config, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "rows in 64 = rows out 47 + dead-lettered 17 (balanced)" in out
    assert "pairs version 0" in out

    uri = str(tmp_path / "ds")
    assert main(["versions", uri, "--format", "json"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["rows"], v["operation"]) for v in versions] == [(0, 94, "CREATE TABLE")]

    assert main(["sql", uri, "SELECT domain, count(*) AS n FROM pairs GROUP BY domain ORDER BY domain", "--format", "csv"]) == 0
    assert list(csv.reader(io.StringIO(capsys.readouterr().out))) == [["domain", "n"], ["code", "28"], ["instruction", "28"], ["math", "38"]]

    query_file = tmp_path / "q.sql"
    query_file.write_text("SELECT count(*) AS dead FROM dead_letters")
    assert main(["sql", uri, "--file", str(query_file)]) == 0
    assert capsys.readouterr().out.split() == ["dead", "----", "18"]


def test_output_flag_overrides_config_and_beam_options_pass_through(tmp_path, capsys):
    config = write_config(tmp_path)
    other = tmp_path / "elsewhere"
    assert main(["run", config, "--output", str(other), "--no-progress", "--direct_num_workers=1"]) == 0
    assert f"dataset {other}" in capsys.readouterr().out
    assert (other / "pairs" / "_delta_log").is_dir() and not (tmp_path / "ds").exists()


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"input:\n  path: {SAMPLE}\noutput:\n  uri: x\npairs:\n  max_pairs: 3\n")
    assert main(["run", str(bad)]) == 2
    assert "pairs.max_pairs: unknown key" in capsys.readouterr().err
    assert main(["sql", str(tmp_path / "nothing"), "SELECT 1"]) == 2
    assert "no prefmill dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(REPO / "pipelines" / "configs" / "quickstart.yaml"), "--bogus"])
    assert exited.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_run_can_export_the_version_it_committed(tmp_path, capsys):
    import pyarrow.parquet as pq

    config = write_config(tmp_path)
    # a bad --export fails at once, before anything runs or is written
    assert main(["run", config, "--no-progress", "--export", "trl-dop=out"]) == 2
    assert "unknown format 'trl-dop'" in capsys.readouterr().err and not (tmp_path / "ds").exists()
    assert main(["run", config, "--no-progress", "--export", str(tmp_path / "dpo")]) == 2
    assert "expected FORMAT=FOLDER" in capsys.readouterr().err

    dpo, rm = tmp_path / "dpo", tmp_path / "rm"
    assert main(["run", config, "--no-progress", "--export", f"trl-dpo={dpo}", "--export", f"trl-reward={rm}"]) == 0
    out = capsys.readouterr().out
    assert f"exported trl-dpo: train 94 rows -> {dpo}" in out and f"exported trl-reward: train 94 rows -> {rm}" in out
    assert pq.read_table(dpo / "train.parquet").column_names == ["prompt", "chosen", "rejected"]
    assert pq.read_table(rm / "train.parquet").num_rows == 94


def test_an_unset_api_key_is_an_error_before_the_run_for_a_remote_server(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PREFMILL_TEST_UNSET_KEY", raising=False)
    config = tmp_path / "remote.yaml"
    model = {"name": "judge", "backend": "openai", "model": "m",
             "openai": {"base_url": "https://api.example.com/v1", "api_key_env": "PREFMILL_TEST_UNSET_KEY"}}
    config.write_text(json.dumps({"input": {"path": str(SAMPLE)}, "output": {"uri": str(tmp_path / "ds")},
                                  "generate": {"mode": "models", "models": [model]}}))
    assert main(["validate", str(config)]) == 2
    assert "error: api_key_env PREFMILL_TEST_UNSET_KEY is not set" in capsys.readouterr().err
    assert main(["run", str(config), "--no-progress"]) == 2
    assert "export PREFMILL_TEST_UNSET_KEY=" in capsys.readouterr().err
    model["openai"]["base_url"] = "http://127.0.0.1:9/v1"  # a local server: a warning only
    config.write_text(json.dumps({"input": {"path": str(SAMPLE)}, "output": {"uri": str(tmp_path / "ds")},
                                  "generate": {"mode": "models", "models": [model]}}))
    assert main(["validate", str(config)]) == 0
    assert "warning: api_key_env PREFMILL_TEST_UNSET_KEY is not set" in capsys.readouterr().err


def test_a_missing_query_file_and_a_closed_pipe(quickstart_uri, tmp_path, capsys):
    import subprocess
    import sys

    assert main(["sql", quickstart_uri, "--file", str(tmp_path / "missing.sql")]) == 2
    assert "cannot read the query file" in capsys.readouterr().err
    done = subprocess.run(f"{sys.executable} -m prefmill.pipelines.cli sql {quickstart_uri} "
                          "'SELECT * FROM range(200000)' --format csv | head -1", shell=True, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout == "range\n" and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_backends_that_cannot_work_are_refused_before_beam_starts(tmp_path, capsys, monkeypatch):
    import importlib.util
    import sys

    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real_find_spec(name, *a))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = tmp_path / "models.yaml"
    config.write_text(json.dumps({"input": {"path": str(SAMPLE)}, "output": {"uri": str(tmp_path / "ds")},
                                  "generate": {"mode": "models", "models": [
                                      {"name": "a", "backend": "vllm", "model": "org/some-7b"},
                                      {"name": "b", "backend": "transformers", "model": "org/not-downloaded"}]}}))
    assert main(["run", str(config), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'prefmill[vllm]'" in err and "huggingface-cli download org/not-downloaded" in err


def test_an_input_folder_with_other_files_reads_its_jsonl(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "prompts.jsonl").write_text(SAMPLE.read_text())
    (folder / "NOTES.txt").write_text("how this data was made")
    (folder / "make.py").write_text("print('hello')\n")
    config = tmp_path / "run.yaml"
    config.write_text(json.dumps({"input": {"path": str(folder)}, "output": {"uri": str(tmp_path / "ds")}}))
    assert main(["run", str(config), "--no-progress"]) == 0
    assert "rows in 64 = rows out" in capsys.readouterr().out


def test_out_of_single_file_commands_is_checked(quickstart_uri, tmp_path, capsys):
    assert main(["report", quickstart_uri, "--out", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err
    assert main(["report", quickstart_uri, "--out", str(tmp_path / "missing" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_validate_refuses_a_vllm_backend_without_vllm(tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    config = tmp_path / "vllm.yaml"
    model = {"name": "policy", "backend": "vllm", "model": "some/model"}
    config.write_text(json.dumps({"input": {"path": str(SAMPLE)}, "output": {"uri": str(tmp_path / "ds")},
                                  "generate": {"mode": "models", "models": [model]}}))
    assert main(["validate", str(config)]) == 2
    assert "uses backend vllm, which is not installed: pip install 'prefmill[vllm]'" in capsys.readouterr().err
