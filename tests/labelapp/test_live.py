"""The page's live model on real (generated) audio: every song prepared in the background, a
refit after labels, guesses for every song, a score once there are enough labels, and a
kept run folder that predicts."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from signals import half_and_half

import tunetag
from tunetag.labelapp.keep import Keeper
from tunetag.labelapp.learner import fit_task
from tunetag.labelapp.live import LiveLearner, live_view_balance
from tunetag.labelapp.store import LabelStore
from tunetag.library.predictions import read_predictions
from tunetag.library.songtable import SongTable
from tunetag.models.inputs import load_views, summary_statistics

MOODS = ["mellow", "not mellow"]


@pytest.fixture
def unlabelled(mood_library, link_library, tmp_path) -> tuple[Path, list[str]]:
    """A linked copy of twelve 6 s demo songs with the mood column blanked, and the true
    moods (its songs' views come from ``shared_cache`` once one test has prepared them)."""
    root = link_library(mood_library("live", songs_per_class=6, duration_s=6.0, seed=4), tmp_path)
    table = SongTable.read(root / "songs.csv")
    truth = [row["mood"] for row in table.rows]
    for row in table.rows:
        row["mood"] = ""
    table.write()
    return root / "songs.csv", truth


def settle(learner: LiveLearner, timeout_s: float = 120.0) -> None:
    """Wait until every song is prepared and a fit has seen the labels given so far."""
    deadline = time.monotonic() + timeout_s
    while learner.state.prepared + learner.state.failed < learner.state.total:
        assert time.monotonic() < deadline, "the songs were not prepared in time"
        time.sleep(0.1)
    version = learner.state.version
    learner.labels_changed()
    assert learner.wait_for(version, timeout_s), "no fit after the labels"


def test_the_live_model_prepares_every_song_and_follows_the_labels(unlabelled, shared_cache):
    csv_path, truth = unlabelled
    store = LabelStore(csv_path, [("mood", MOODS)])
    learner = LiveLearner(store, range(len(store)), shared_cache).start()
    try:
        settle(learner)
        assert learner.state.prepared == 12 and learner.state.failed == 0
        assert learner.state.tasks == {} and len(learner.state.teaching) == 12

        for song_id in (0, 11):  # one of each mood: a model, too few songs for a score
            store.set_labels(song_id, "mood", [truth[song_id]])
        settle(learner)
        few = learner.state
        assert few.tasks["mood"]["songs"] == 2 and few.tasks["mood"]["score"] is None
        assert set(few.guesses) == set(range(12))
        assert set(few.guesses[5]["mood"]) == set(MOODS)
        assert 0 not in few.teaching and 11 not in few.teaching and len(few.teaching) == 10

        for song_id, mood in enumerate(truth):
            store.set_labels(song_id, "mood", [mood])
        settle(learner)
        every = learner.state
        mood = every.tasks["mood"]
        assert mood["songs"] == 12 and mood["score"] is not None
        assert mood["interval"][0] <= mood["score"] <= mood["interval"][1]
        assert [point[0] for point in mood["curve"]] == [12]  # 2 songs gave no score
        assert every.teaching == [] and every.version > few.version
        right = [max(every.guesses[k]["mood"], key=every.guesses[k]["mood"].get) == truth[k]
                 for k in range(12)]  # fmt: skip
        assert sum(right) >= 10  # fitted on these very songs
    finally:
        learner.close()


def test_a_song_that_cannot_be_read_is_counted_and_the_rest_learn(unlabelled, shared_cache):
    csv_path, truth = unlabelled
    broken = csv_path.parent / SongTable.read(csv_path).rows[3]["path"]
    broken.unlink()  # a link to the shared library's song: this copy's song alone breaks
    broken.write_bytes(b"not audio at all")
    store = LabelStore(csv_path, [("mood", MOODS)])
    for song_id in range(12):
        store.set_labels(song_id, "mood", [truth[song_id]])
    learner = LiveLearner(store, range(12), shared_cache).start()
    try:
        settle(learner)
        assert learner.state.failed == 1 and learner.state.prepared == 11
        assert 3 not in learner.state.guesses
        assert learner.state.tasks["mood"]["songs"] == 11
    finally:
        learner.close()


@pytest.mark.slow
def test_keeping_writes_a_run_folder_that_predicts(unlabelled, tmp_path, shared_cache):
    csv_path, truth = unlabelled
    table = SongTable.read(csv_path)
    for row, mood in zip(table.rows, truth, strict=True):
        row["mood"] = mood
    table.write()
    keeper = Keeper(csv_path, shared_cache, seed=0)

    status = keeper.start(["mood"])

    assert status["state"] == "running" and status["command"].startswith("tunetag train ")
    assert "--model auto --patches 12" in status["command"]
    assert keeper.start(["mood"])["run"] == status["run"]  # one at a time
    deadline = time.monotonic() + 300
    while keeper.status()["state"] == "running":
        assert time.monotonic() < deadline, "keeping took too long"
        time.sleep(0.5)
    done = keeper.status()
    assert done["state"] == "done", done["message"]
    run = Path(done["run"])
    assert run.parent == csv_path.parent / "runs" and (run / "model.pt").is_file()
    tunetag.predict(run, [csv_path], tmp_path / "predictions.csv", cache_dir=shared_cache)
    assert len(read_predictions(tmp_path / "predictions.csv").songs) == 12


def test_preparing_that_stops_is_told_and_the_labels_stay_safe(
    unlabelled, tmp_path, capsys, monkeypatch
):
    """Should preparing itself fail (not one song: those are counted), the page is told
    why, fits still come, and labelling goes on."""
    csv_path, truth = unlabelled

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
        yield

    monkeypatch.setattr("tunetag.labelapp.live.stream_extract", broken)
    store = LabelStore(csv_path, [("mood", MOODS)])
    learner = LiveLearner(store, range(12), tmp_path / "cache").start()
    try:
        deadline = time.monotonic() + 30
        while not learner.state.error:
            assert time.monotonic() < deadline, "the failure was never told"
            time.sleep(0.05)
        assert learner.state.error.startswith("preparing the songs stopped: ")
        assert "No space left on device" in learner.state.summary()["error"]
        assert "error: preparing the songs stopped" in capsys.readouterr().out
        store.set_labels(0, "mood", [truth[0]])
        version = learner.state.version
        learner.labels_changed()
        assert learner.wait_for(version, 30)
        assert learner.state.error  # still told after the next fit
        assert SongTable.read(csv_path).rows[0]["mood"] == truth[0]
    finally:
        learner.close()


def test_a_fit_that_fails_is_told_until_the_next_one_succeeds(
    unlabelled, shared_cache, monkeypatch
):
    csv_path, truth = unlabelled
    store = LabelStore(csv_path, [("mood", MOODS)])
    learner = LiveLearner(store, range(12), shared_cache).start()
    try:
        settle(learner)
        broken = True  # every fit fails until mended: a fit woken early cannot pass unseen

        def fit_failing_while_broken(*args, **kwargs):
            if broken:
                raise RuntimeError("a bug in a fit")
            return fit_task(*args, **kwargs)

        monkeypatch.setattr("tunetag.labelapp.live.fit_task", fit_failing_while_broken)
        store.set_labels(0, "mood", [truth[0]])
        settle(learner)
        assert learner.state.error == "the live model could not be fitted: a bug in a fit"
        broken = False
        settle(learner)
        assert learner.state.error == "" and learner.state.tasks["mood"]["songs"] == 1
    finally:
        learner.close()


def test_the_live_model_explains_a_half_mellow_song_by_its_mellow_half(unlabelled, shared_cache):
    csv_path, truth = unlabelled
    table = SongTable.read(csv_path)
    half = half_and_half(csv_path.parent / "music" / "half.flac", "mellow", "not mellow", 7)
    table.rows.append({**table.rows[0], "path": "music/half.flac", "mood": "", "title": "half"})
    table.write()
    store = LabelStore(csv_path, [("mood", MOODS)])
    learner = LiveLearner(store, range(len(store)), shared_cache).start()
    try:
        settle(learner)
        assert learner.explain(12, 12.0) is None  # nothing labelled: no model to explain
        for song_id, mood in enumerate(truth):
            store.set_labels(song_id, "mood", [mood])
        settle(learner)
        found = learner.explain(12, 12.0)
        assert found is not None and half.is_file()
        assert found.starts_s.tolist() == [0.0, 3.0, 6.0, 9.0]
        mellow = found.pushes["mood"][:, MOODS.index("mellow")]
        lively = found.pushes["mood"][:, MOODS.index("not mellow")]
        assert mellow[:2].mean() > mellow[2:].mean()
        assert lively[2:].mean() > lively[:2].mean()
        # the explainer scores the whole unlabelled song as the fit guessed it (the views'
        # balance folded into its scale, as into the fit's coordinates)
        explainer, fit = learner._explainer, learner._explainer.fits["mood"]
        x = summary_statistics(load_views(learner._views[12]))[None]
        z = (x - explainer.mean) / explainer.scale @ explainer.directions
        guessed = [learner.state.guesses[12]["mood"][mood] for mood in fit.classes]
        np.testing.assert_allclose(fit.probabilities_of(z)[0], guessed, atol=1e-4)
    finally:
        learner.close()


def test_every_live_view_holds_the_same_share_of_the_variance():
    balance = live_view_balance()
    shares = [
        float((balance[columns] ** 2).sum())
        for columns in (slice(0, 400), slice(400, 800), slice(800, None))
    ]
    assert len(balance) == 986 and shares == pytest.approx([986 / 3] * 3)
