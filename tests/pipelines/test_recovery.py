"""A launcher killed between the job and the commit: the next run commits the finished job first."""

from __future__ import annotations

import pytest

from prefmill.pipelines import launcher
from prefmill.dataset import run_query


class Killed(Exception):
    """Stands in for the launcher process dying right after it saved the commit plan."""


def test_finished_job_is_committed_by_the_next_run(make_config, monkeypatch):
    config = make_config()
    real_commit = launcher._commit_plan
    monkeypatch.setattr(launcher, "_commit_plan", lambda paths, plan: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        launcher.run_config(config, progress=False)
    monkeypatch.setattr(launcher, "_commit_plan", real_commit)

    summary = launcher.run_config(config, progress=False)
    assert summary.pairs_version == 1  # version 0 is the recovered run
    runs = run_query(summary.uri, "SELECT DISTINCT run_id FROM pairs", version=0)[1]
    assert len(runs) == 1 and runs[0][0] != summary.run_id
    assert run_query(summary.uri, "SELECT count(*) FROM pairs", version=0)[1] == [(94,)]
    # Recovery is idempotent: a third run finds nothing left to recover.
    assert launcher.recover_unfinished(launcher.DatasetPaths.of(summary.uri)) == []


def test_failed_job_commits_nothing(make_config, monkeypatch):
    config = make_config()
    first = launcher.run_config(config, progress=False)

    def broken(pipeline, cfg, ctx):
        import apache_beam as beam

        def explode(_):
            raise RuntimeError("worker lost")

        _ = pipeline | beam.Create([1]) | beam.Map(explode)

    monkeypatch.setattr(launcher, "build_pipeline", broken)
    with pytest.raises(Exception, match="worker lost"):
        launcher.run_config(config, progress=False)
    from prefmill.dataset import DatasetPaths, list_versions

    assert [v.version for v in list_versions(DatasetPaths.of(first.uri).table("pairs"))] == [0]
