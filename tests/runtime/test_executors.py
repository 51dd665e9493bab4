"""Decoding on a real local Dask cluster of two worker processes gives what a local run gives."""

from __future__ import annotations

import gc
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.errors import ParameterError
from tunetag.features.extract import extract
from tunetag.library.scan import scan
from tunetag.runtime.executors import open_executor
from tunetag.steps.predict import predict

distributed = pytest.importorskip("distributed")

runner = CliRunner()
INSTALL = "pip install 'tunetag[dask]'"


@pytest.fixture(scope="module")
def scheduler():
    """The address of a local cluster: a scheduler and two single-threaded worker processes."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def library(small_library, copy_library, tmp_path_factory):
    """Eight 6 s songs with their mood (a copy of `small_library`), one text file named like
    audio, and a local run's cache of them (the reference every cluster run is compared
    with)."""
    root = copy_library(small_library, tmp_path_factory.mktemp("library"))
    broken = root / "music" / "x.mp3"
    broken.write_text("not audio", encoding="utf-8")
    songs = root / "songs.csv"
    scan(root / "music", songs, label_from_folder="mood", progress=False)
    local = extract(songs, cache_dir=root / "local-cache", progress=False)
    assert len(local.ok) == 8 and list(local.errors) == [broken]
    return {"root": root, "songs": songs, "broken": broken, "local": local}


def test_extract_on_the_cluster_caches_the_same_arrays(scheduler, library, tmp_path, capsys):
    local = library["local"]
    with open_executor(dask_address=scheduler) as executor:
        report = extract(
            library["songs"], cache_dir=tmp_path / "cache", executor=executor, progress=False
        )

    assert (report.computed, report.cached) == (8, 0)
    assert list(report.ok) == list(local.ok)
    assert report.errors == local.errors
    assert capsys.readouterr().err.count(f"error: {library['broken']}: ") == 1
    for song, views in report.ok.items():
        for view, cached in views.items():
            reference = local.ok[song][view]
            assert cached.relative_to(tmp_path / "cache") == reference.relative_to(
                library["root"] / "local-cache"
            )
            assert np.array_equal(np.load(cached), np.load(reference))


def test_extract_command_with_dask(scheduler, library, tmp_path):
    cache = tmp_path / "cache"
    result = runner.invoke(
        app, ["extract", str(library["songs"]), "--cache", str(cache), "--dask", scheduler]
    )

    assert result.exit_code == 0, result.output
    assert "8 songs ready (8 computed, 0 from the cache), 1 skipped" in result.output
    local_cache = library["root"] / "local-cache"
    assert sorted(p.relative_to(cache) for p in cache.rglob("*.npy")) == sorted(
        p.relative_to(local_cache) for p in local_cache.rglob("*.npy")
    )


def test_predict_on_the_cluster_writes_the_same_file(scheduler, library, logreg_run, tmp_path):
    local_cache = library["root"] / "local-cache"
    run = logreg_run
    here = predict(
        run.path, [library["songs"]], tmp_path / "here.csv", cache_dir=local_cache, progress=False
    )
    with open_executor(dask_address=scheduler) as executor:
        there = predict(
            run.path,
            [library["songs"]],
            tmp_path / "there.csv",
            cache_dir=tmp_path / "cache",
            executor=executor,
            progress=False,
        )

    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 8  # the workers decoded
    assert there.scored == here.scored == 8
    assert list(there.errors) == [library["broken"]]
    assert (tmp_path / "there.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()


def test_an_unreachable_scheduler_fails_fast_in_one_line():
    address = "tcp://127.0.0.1:1"
    start = time.monotonic()
    with (
        pytest.raises(ParameterError, match="127.0.0.1:1") as caught,
        open_executor(dask_address=address, connect_timeout_s=1.0),
    ):
        pass
    assert time.monotonic() - start < 5.0
    assert address in str(caught.value) and "\n" not in str(caught.value)
    # the half-built Client is gone: collected later, in another test's cluster start-up,
    # it deadlocked distributed's event loop
    assert caught.value.__context__ is None
    assert not [obj for obj in gc.get_objects() if type(obj) is distributed.Client]


def test_a_malformed_address_is_one_line_from_the_command(library, tmp_path):
    result = runner.invoke(
        app, ["extract", str(library["songs"]), "--cache", str(tmp_path), "--dask", "nowhere"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "nowhere" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not list(tmp_path.rglob("*.npy"))


def test_a_scheduler_without_workers_says_how_to_start_one():
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        address = empty.scheduler_address
        with (
            pytest.raises(ParameterError, match="dask worker") as caught,
            open_executor(dask_address=address, connect_timeout_s=0.5),
        ):
            pass
    assert address in str(caught.value)


def test_without_distributed_the_error_names_the_install_command(monkeypatch, library):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ParameterError, match="distributed"), open_executor(dask_address="x:1"):
        pass
    result = runner.invoke(app, ["predict", ".", str(library["songs"]), "--dask", "x:1"])
    assert result.exit_code == 1 and INSTALL in result.output


def test_local_workers_the_default_and_both_at_once():
    with open_executor(2) as pool:
        assert isinstance(pool, ProcessPoolExecutor)
        assert pool.submit(abs, -3).result() == 3
    with pytest.raises(RuntimeError):
        pool.submit(abs, -3)  # shut down on the way out
    with open_executor() as default:
        assert default is None
    with pytest.raises(ParameterError, match="not both"), open_executor(2, "tcp://x:1"):
        pass
