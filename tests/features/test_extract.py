"""Parallel extraction: cache reuse, per-song errors, PNGs, and any executor."""

from __future__ import annotations

import dataclasses
import importlib
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from tunetag.config import AudioConfig, FeatureConfig
from tunetag.errors import ParameterError
from tunetag.features import FRAME_VIEWS, ExtractReport, FeatureCache, extract_files
from tunetag.features.views import view_rows
from tunetag.library.fields import write_fields

# a short window keeps every test fast
FEATURES = FeatureConfig(audio=AudioConfig(window_s=1.0, min_duration_s=0.5))

# the module, not the function of the same name that tunetag.features exports
extract_module = importlib.import_module("tunetag.features.extract")


@pytest.fixture
def songs(write_audio):
    return [
        write_audio("low.wav", duration_s=1.5, freq_hz=220.0),
        write_audio("mid.flac", duration_s=1.2, freq_hz=880.0),
        write_audio("high.ogg", duration_s=1.0, freq_hz=3000.0, sr=44100, channels=2),
    ]


def test_first_run_computes_and_second_run_is_all_cached(tmp_path, songs):
    with ThreadPoolExecutor(2) as pool:
        first = extract_files(songs, FEATURES, tmp_path / "cache", executor=pool, progress=False)
        second = extract_files(songs, FEATURES, tmp_path / "cache", executor=pool, progress=False)
    assert isinstance(first, ExtractReport)
    assert (first.computed, first.cached, first.errors) == (len(songs), 0, {})
    assert (second.computed, second.cached, second.errors) == (0, len(songs), {})
    assert list(first.ok) == songs  # in the order given
    assert second.ok == first.ok
    cache = FeatureCache(tmp_path / "cache")
    for song in songs:
        stored = np.load(first.ok[song]["mel"])
        assert stored.shape == (128, 1 + 22050 // 512)
        np.testing.assert_array_equal(cache.load(song, FEATURES, "mel"), stored)


def test_songs_whose_tags_were_written_or_that_moved_keep_their_views(tmp_path, songs):
    first = extract_files(songs, FEATURES, tmp_path / "cache", progress=False)
    write_fields(songs[0], {"mood": "tense", "TUNETAG_RUN": "run-1"})
    write_fields(songs[1], {"mood": "calm " * 500})
    moved = tmp_path / "moved" / songs[2].name
    moved.parent.mkdir()
    songs[2].rename(moved)
    again = [*songs[:2], moved]
    second = extract_files(again, FEATURES, tmp_path / "cache", progress=False)
    assert (second.computed, second.cached, second.errors) == (0, len(songs), {})
    for before, after in zip(songs, again, strict=True):
        assert second.ok[after] == first.ok[before]
    third = extract_files(again, FEATURES, tmp_path / "cache", progress=False)
    assert (third.computed, third.cached) == (0, len(songs))  # linked: found without decoding


def test_a_song_with_new_audio_under_its_old_name_is_computed_again(tmp_path, songs, write_audio):
    first = extract_files(songs, FEATURES, tmp_path / "cache", progress=False)
    write_audio("low.wav", duration_s=1.4, freq_hz=330.0)
    second = extract_files(songs, FEATURES, tmp_path / "cache", progress=False)
    assert (second.computed, second.cached) == (1, len(songs) - 1)
    assert second.ok[songs[0]]["mel"] != first.ok[songs[0]]["mel"]


def test_all_four_views_are_cached_per_song_from_one_decoding(tmp_path, songs, monkeypatch):
    features = dataclasses.replace(FEATURES, views=FRAME_VIEWS)
    real_load_window = extract_module.load_window
    decoded = []

    def counting_load_window(path, audio):
        decoded.append(path)
        return real_load_window(path, audio)

    monkeypatch.setattr(extract_module, "load_window", counting_load_window)
    with ThreadPoolExecutor(2) as pool:  # threads see the counting decoder
        first = extract_files(songs, features, tmp_path / "cache", executor=pool, progress=False)
    assert sorted(decoded) == sorted(songs)  # each song decoded once for its four views
    assert (first.computed, first.errors) == (len(songs), {})
    cache = FeatureCache(tmp_path / "cache")
    for song in songs:
        assert list(first.ok[song]) == list(FRAME_VIEWS)
        for view, path in first.ok[song].items():
            stored = np.load(path)
            assert stored.shape == (view_rows(view, features), 1 + 22050 // 512)
            np.testing.assert_array_equal(cache.load(song, features, view), stored)
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 4 * len(songs)
    second = extract_files(songs, features, tmp_path / "cache", progress=False)
    assert (second.computed, second.cached) == (0, len(songs))
    assert len(decoded) == len(songs)


def test_a_new_view_computes_only_that_view(tmp_path, songs):
    extract_files(songs[:1], FEATURES, tmp_path / "cache", progress=False)
    mel = FeatureCache(tmp_path / "cache").path_for(songs[0], FEATURES, "mel")
    before = mel.stat().st_mtime_ns
    features = dataclasses.replace(FEATURES, views=("mel", "chroma"))
    report = extract_files(songs[:1], features, tmp_path / "cache", progress=False)
    assert report.computed == 1
    assert report.ok[songs[0]]["mel"] == mel
    assert mel.stat().st_mtime_ns == before  # the cached mel was not rewritten
    assert np.load(report.ok[songs[0]]["chroma"]).shape[0] == 12


def test_bad_files_are_reported_while_the_others_succeed(tmp_path, songs, write_audio, capsys):
    text = tmp_path / "notes.mp3"
    text.write_text("not a song\n" * 20)
    short = write_audio("blip.wav", duration_s=0.1)
    missing = tmp_path / "gone.wav"
    paths = [text, *songs, short, missing]
    with ThreadPoolExecutor(2) as pool:
        report = extract_files(paths, FEATURES, tmp_path / "cache", executor=pool, progress=False)
    assert list(report.ok) == songs
    assert report.computed == len(songs)
    assert report.errors == {
        text: "not a readable audio file",
        short: "too short (0.10 s < 0.5 s)",
        missing: "file not found",
    }
    err = capsys.readouterr().err
    for path, reason in report.errors.items():
        assert f"error: {path}: {reason}\n" in err


def test_unexpected_worker_exception_is_reported_per_song(tmp_path, songs, monkeypatch):
    real_load_window = extract_module.load_window

    def fail_on_mid(path, audio):
        if path.name == "mid.flac":
            raise ValueError("something\nbroke")
        return real_load_window(path, audio)

    monkeypatch.setattr(extract_module, "load_window", fail_on_mid)
    with ThreadPoolExecutor(2) as pool:
        report = extract_files(songs, FEATURES, tmp_path / "cache", executor=pool, progress=False)
    assert report.errors == {songs[1]: "ValueError: something broke"}
    assert list(report.ok) == [songs[0], songs[2]]


def test_png_is_the_proposal_picture(tmp_path, songs):
    report = extract_files(
        songs[:1], FEATURES, tmp_path / "cache", png_dir=tmp_path / "png", progress=False
    )
    assert report.computed == 1
    [png] = (tmp_path / "png" / "mel").iterdir()
    assert re.fullmatch(r"low-[0-9a-f]{8}\.png", png.name)
    with Image.open(png) as image:
        assert (image.size, image.mode) == ((1600, 400), "RGBA")


def test_every_view_gets_its_own_picture(tmp_path, songs):
    features = dataclasses.replace(FEATURES, views=FRAME_VIEWS)
    extract_files(songs[:1], features, tmp_path / "cache", png_dir=tmp_path / "png", progress=False)
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == sorted(FRAME_VIEWS)
    for view in FRAME_VIEWS:
        [png] = (tmp_path / "png" / view).iterdir()
        with Image.open(png) as image:
            assert image.size == (1600, 400)


def test_songs_with_the_same_stem_get_their_own_png(tmp_path, write_audio):
    paths = [
        write_audio("song.wav", duration_s=1.0, folder=tmp_path / "a"),
        write_audio("song.wav", duration_s=1.0, folder=tmp_path / "b", freq_hz=880.0),
    ]
    with ThreadPoolExecutor(2) as pool:
        extract_files(
            paths, FEATURES, tmp_path / "cache", pool, png_dir=tmp_path / "png", progress=False
        )
    assert len(list((tmp_path / "png" / "mel").glob("song-*.png"))) == 2


def test_missing_png_is_drawn_from_the_cache_without_decoding(tmp_path, songs, monkeypatch):
    extract_files(songs[:1], FEATURES, tmp_path / "cache", progress=False)

    def no_decoding(path, audio):
        raise AssertionError("the song was decoded again")

    monkeypatch.setattr(extract_module, "load_window", no_decoding)
    report = extract_files(
        songs[:1], FEATURES, tmp_path / "cache", png_dir=tmp_path / "png", progress=False
    )
    assert (report.computed, report.cached, report.errors) == (0, 1, {})  # drawn, not decoded
    assert len(list((tmp_path / "png" / "mel").iterdir())) == 1
    again = extract_files(
        songs[:1], FEATURES, tmp_path / "cache", png_dir=tmp_path / "png", progress=False
    )
    assert (again.computed, again.cached) == (0, 1)


def test_changed_setting_recomputes(tmp_path, songs):
    extract_files(songs[:1], FEATURES, tmp_path / "cache", progress=False)
    other = FeatureConfig(audio=FEATURES.audio, mel=type(FEATURES.mel)(n_mels=64))
    report = extract_files(songs[:1], other, tmp_path / "cache", progress=False)
    assert report.computed == 1
    assert np.load(report.ok[songs[0]]["mel"]).shape[0] == 64


def test_given_executor_is_left_running(tmp_path, songs):
    pool = ThreadPoolExecutor(2)
    try:
        extract_files(songs, FEATURES, tmp_path / "cache", executor=pool, progress=False)
        assert pool.submit(sum, [1, 2]).result() == 3
    finally:
        pool.shutdown()


def test_default_process_pool(tmp_path, songs):
    report = extract_files(songs, FEATURES, tmp_path / "cache", progress=False)
    assert (report.computed, report.errors) == (len(songs), {})
    assert all(paths["mel"].is_file() for paths in report.ok.values())


def test_duplicates_are_done_once(tmp_path, songs):
    report = extract_files([songs[0], songs[0]], FEATURES, tmp_path / "cache", progress=False)
    assert (report.computed, list(report.ok)) == (1, [songs[0]])


def test_no_songs(tmp_path):
    report = extract_files([], FEATURES, tmp_path / "cache", progress=False)
    assert report == ExtractReport()


def test_progress_bar_is_on_stderr_and_off_on_request(tmp_path, songs, capsys):
    extract_files(songs[:1], FEATURES, tmp_path / "cache", progress=True)
    assert "extract" in capsys.readouterr().err
    extract_files(songs[:1], FEATURES, tmp_path / "cache", progress=False)
    assert capsys.readouterr().err == ""


def test_unknown_view_is_refused_before_any_work(tmp_path, songs):
    features = FeatureConfig(views=("mel", "sparkle"))
    with pytest.raises(ParameterError, match="sparkle"):
        extract_files(songs, features, tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache").exists()


class OtherDisk(ThreadPoolExecutor):
    """An executor whose workers store the cache on their own disk, as a Dask worker on
    another machine does when --cache is not a shared folder: the paths it reports are
    the ones asked for, the files are elsewhere."""

    def __init__(self, their_cache):
        super().__init__(2)
        self.their_cache = their_cache

    def submit(self, fn, path, missing, job):
        def on_their_disk():
            paths, reason, computed = fn(
                path, missing, dataclasses.replace(job, cache_root=self.their_cache)
            )
            moved = {v: job.cache_root / p.relative_to(self.their_cache) for v, p in paths.items()}
            return moved, reason, computed

        return super().submit(on_their_disk)


def test_workers_storing_the_cache_out_of_sight_stop_the_run(tmp_path, songs, monkeypatch):
    monkeypatch.setattr(
        importlib.import_module("tunetag.features.extract"), "SHARED_CACHE_WAIT_S", 0.3
    )
    with (
        OtherDisk(tmp_path / "their-disk") as executor,
        pytest.raises(ParameterError, match="every worker shares at the same path"),
    ):
        extract_files(songs, FEATURES, tmp_path / "ours", executor=executor, progress=False)
    assert not (tmp_path / "ours").exists()


class _CountingPool(ThreadPoolExecutor):
    """A thread pool that counts what it was given."""

    def __init__(self) -> None:
        super().__init__(2)
        self.submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


def test_streaming_holds_at_most_max_in_flight_songs_on_the_executor(
    tmp_path, write_audio, monkeypatch
):
    monkeypatch.setattr(extract_module, "MAX_IN_FLIGHT", 3)
    songs = [write_audio(f"song{k}.wav", duration_s=1.0, freq_hz=200.0 + 50 * k) for k in range(9)]
    with _CountingPool() as pool:
        stream = extract_module.stream_extract(songs, FEATURES, tmp_path / "cache", pool)
        collected = 0
        for outcome in stream:
            assert outcome.computed and outcome.reason is None
            collected += 1
            assert pool.submitted - collected < 3  # 3 were pending when this one was taken
    assert collected == pool.submitted == len(songs)


def test_songs_come_back_in_the_order_given_whatever_order_they_finish_in(
    tmp_path, write_audio, monkeypatch
):
    monkeypatch.setattr(extract_module, "MAX_IN_FLIGHT", 4)
    songs = [write_audio(f"song{k}.wav", duration_s=1.0, freq_hz=200.0 + 50 * k) for k in range(8)]
    finished = []

    class LaterFirst(ThreadPoolExecutor):
        """Of every four songs submitted, each waits less than the one before."""

        given = 0

        def submit(self, fn, path, *args):
            delay = 0.1 * (4 - self.given % 4)
            self.given += 1

            def slowed():
                time.sleep(delay)
                finished.append(path)
                return fn(path, *args)

            return super().submit(slowed)

    with LaterFirst(4) as pool:
        stream = extract_module.stream_extract(songs, FEATURES, tmp_path / "cache", pool)
        assert [outcome.path for outcome in stream] == songs
    assert finished != songs  # they did finish out of order


def test_a_stream_stopped_early_submits_no_more_songs(tmp_path, write_audio, monkeypatch):
    monkeypatch.setattr(extract_module, "MAX_IN_FLIGHT", 4)
    songs = [write_audio(f"song{k}.wav", duration_s=1.0, freq_hz=200.0 + 50 * k) for k in range(8)]
    with _CountingPool() as pool:
        stream = extract_module.stream_extract(songs, FEATURES, tmp_path / "cache", pool)
        next(stream)  # the window of 4 filled, then the first finished came back
        stream.close()
        assert pool.submitted == 4
    assert len(list((tmp_path / "cache").rglob("*.npy"))) < len(songs)


def test_the_stream_serves_cached_songs_and_reports_bad_ones_in_one_line(
    tmp_path, songs, monkeypatch
):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    extract_files(songs[:2], FEATURES, tmp_path / "cache", progress=False)
    outcomes = {
        o.path: o
        for o in extract_module.stream_extract([*songs, broken], FEATURES, tmp_path / "cache")
    }
    assert [outcomes[s].computed for s in songs] == [False, False, True]
    assert all(outcomes[s].views and set(outcomes[s].views) == {"mel"} for s in songs)
    assert outcomes[broken].views is None and "\n" not in outcomes[broken].reason


FORKED_AFTER_TORCH = """
import sys
from pathlib import Path
import torch
from tunetag.config import MUSICNN_FEATURES
from tunetag.features import extract_files

weights = torch.randn(1500, 1500)
(weights @ weights).sum()  # torch's OpenMP threads now exist in this process
features = MUSICNN_FEATURES.__class__(audio=MUSICNN_FEATURES.audio, views=("musicnn",))
report = extract_files([Path(p) for p in sys.argv[2:]], features, Path(sys.argv[1]), progress=False)
print(report.computed, len(report.errors))
"""


def test_workers_forked_after_torch_ran_compute_torch_views(tmp_path, write_audio):
    songs = [
        write_audio(f"s{k}.wav", duration_s=4.0, sr=16000, freq_hz=300.0 * k + 200)
        for k in range(2)
    ]
    done = subprocess.run(
        [sys.executable, "-c", FORKED_AFTER_TORCH, str(tmp_path / "cache"), *map(str, songs)],
        capture_output=True,
        text=True,
        timeout=240,  # a hung worker (OpenMP after fork) fails here instead of hanging the suite
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["2", "0"]


def test_a_song_that_decodes_too_long_is_stopped_and_the_others_go_on(tmp_path, songs, monkeypatch):
    """A decoder stuck in a loop: the song is reported after the limit, in a pool worker
    (forked, so it runs the slow decoder too) and in this process alike."""
    load_window = extract_module.load_window

    def stuck_on_mid(path, audio):
        while path.name == "mid.flac":
            time.sleep(0.01)
        return load_window(path, audio)

    monkeypatch.setattr(extract_module, "load_window", stuck_on_mid)
    for in_process in (False, True):  # mid.flac last: it runs here when no pool has started
        order = [songs[0], songs[1]] if in_process else songs
        cache = tmp_path / f"cache-{in_process}"
        report = extract_files(order, FEATURES, cache, progress=False, time_limit_s=0.5)
        assert set(report.ok) == set(order) - {songs[1]}
        assert report.errors == {songs[1]: "still decoding after 0.5 s; stopped"}
