"""`train` end to end on generated audio: several views, tasks of both kinds, k folds."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from tunetag.config import FeatureConfig, RunConfig, TrainConfig
from tunetag.library.predictions import read_predictions
from tunetag.library.songtable import SongTable, cell_labels
from tunetag.steps.predict import predict
from tunetag.steps.train import train

ALL_VIEWS = ("mel", "chroma", "tempogram", "waveform")


@pytest.fixture(scope="module")
def library(mood_library, copy_library, tmp_path_factory):
    """12 short songs: mood from folders, genre from tags (two left blank), and a
    multi-label `tags` column (left blank for one song), in a copy of the shared library."""
    shared = mood_library("library", songs_per_class=6, duration_s=8.0, seed=3)
    root = copy_library(shared, tmp_path_factory.mktemp("train"))
    songs = root / "songs.csv"
    table = SongTable.read(songs)
    table.columns.append("tags")
    for k, row in enumerate(table.rows):
        energy = "calm" if row["mood"] == "mellow" else "energetic"
        row["tags"] = "" if k == 0 else f"{energy};{'vocal' if k % 3 else 'instrumental'}"
        if k in (1, 2):
            row["genre"] = ""
    table.write()
    return {"root": root, "songs": songs, "cache": root / "cache", "table": table}


@pytest.mark.slow  # three folds of a four-view network
def test_k_fold_multiview_run_scores_every_song_once(library, tmp_path):
    config = RunConfig(
        features=FeatureConfig(views=ALL_VIEWS),
        train=TrainConfig(
            model="multiview",
            tasks=("mood", "genre", "tags"),
            folds=3,
            epochs=2,
            patience=2,
            crop_s=2.0,
            crops_per_song=2,
        ),
    )
    run = train(
        library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False
    )

    metrics = run.load_metrics()
    assert metrics["folds"] == 3 and metrics["views"] == list(ALL_VIEWS)
    assert metrics["songs"]["scored"] == metrics["songs"]["used"] == 12
    mood = metrics["tasks"]["mood"]
    assert set(mood) == {"pooled", "summary", "interval_95", "fold_interval_95"}
    assert len(mood["summary"]["accuracy"]["folds"]) == 3
    over_folds = mood["fold_interval_95"]
    assert over_folds["metric"] == "balanced_accuracy"
    assert over_folds["interval"][0] <= mood["summary"]["balanced_accuracy"]["mean"]
    assert metrics["tasks"]["tags"]["fold_interval_95"]["metric"] == "macro_roc_auc"
    assert np.sum(mood["pooled"]["confusion"]) == 12
    low, high = mood["interval_95"]
    assert 0 <= low <= mood["pooled"]["accuracy"] <= high <= 1
    assert metrics["tasks"]["genre"]["pooled"]["n_songs"] == 10
    tags = metrics["tasks"]["tags"]["pooled"]
    assert tags["n_songs"] == 11 and set(tags["per_label"]) == {
        "calm",
        "energetic",
        "instrumental",
        "vocal",
    }
    assert "roc_auc" in tags["per_label"]["calm"]

    with open(run.history_path, newline="", encoding="utf-8") as handle:
        folds = {row["fold"] for row in csv.DictReader(handle)}
    assert folds == {"1", "2", "3"}
    labels = json.loads(run.labels_path.read_text(encoding="utf-8"))
    assert labels["tags"]["multi_label"] and not labels["mood"]["multi_label"]
    assert run.confusion_path("mood").is_file() and not run.confusion_path("tags").exists()
    assert_scored_songs_match_the_table(run, library["table"], metrics["songs"]["scored"])

    out = tmp_path / "predictions.csv"
    predict(run.path, [library["root"] / "music"], out, cache_dir=library["cache"], progress=False)
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12
    assert {"tags", "tags:calm", "tags:vocal", "genre:rock", "mood:mellow"} <= set(rows[0])
    for row in rows:
        chosen = [label for label in row["tags"].split(";") if label]
        assert all(float(row[f"tags:{label}"]) >= 0.5 for label in chosen)


def test_the_logistic_baseline_is_a_model_like_any_other(library, tmp_path):
    config = RunConfig(
        features=FeatureConfig(views=("mel", "chroma")),
        train=TrainConfig(model="logreg", tasks=("mood",)),
    )
    run = train(
        library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False
    )
    mood = run.load_metrics()["tasks"]["mood"]
    assert mood["n_songs"] >= 3 and mood["accuracy"] > mood["chance_accuracy"] - 1e-9
    assert run.curves_path.is_file() and run.model_path.is_file()
    assert_scored_songs_match_the_table(run, library["table"], mood["n_songs"])


def assert_scored_songs_match_the_table(run, table: SongTable, n_scored: int) -> None:
    """One row per scored song, its true labels as in the song CSV, probabilities that
    sum to 1 per single-label task, and the run's id."""
    scored = read_predictions(run.scored_songs_path)
    with open(run.scored_songs_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(scored.songs) == len(rows) == n_scored
    by_path = {table.audio_path(row): row for row in table.rows}
    assert len({song.path for song in scored.songs}) == n_scored
    tasks = {task.name: task for task in run.load_tasks()}
    assert list(scored.tasks) == list(tasks)
    for song, row in zip(scored.songs, rows, strict=True):
        source = by_path[song.path]
        assert (song.artist, song.title, song.run) == (
            source["artist"],
            source["title"],
            run.run_id(),
        )
        for name, task in tasks.items():
            assert set(cell_labels(row["label:" + name])) == set(cell_labels(source[name]))
            probs = list(song.probabilities[name].values())
            if not task.multilabel:
                assert sum(probs) == pytest.approx(1.0, abs=1e-3)
                assert song.predicted[name] == max(
                    song.probabilities[name], key=song.probabilities[name].get
                )


def test_a_networks_early_stopping_never_watches_the_songs_it_scores(
    library, tmp_path, monkeypatch
):
    """Each fold's validation songs (its best epoch's judges) are some of that fold's
    training songs; the songs it scores are neither trained on nor watched."""
    import tunetag.steps.train as train_step

    seen = []
    real_fit = train_step.fit

    def spy(model, tasks, train_examples, val_examples, **kwargs):
        seen.append(
            ({str(e.view_paths["mel"]) for e in train_examples},
             {str(e.view_paths["mel"]) for e in val_examples})
        )  # fmt: skip
        return real_fit(model, tasks, train_examples, val_examples, **kwargs)

    monkeypatch.setattr(train_step, "fit", spy)
    config = RunConfig(
        train=TrainConfig(model="shortchunk", folds=3, epochs=1, crop_s=1.0, crops_per_song=1)
    )
    run = train(
        library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False
    )
    scored, _ = run.load_scored_songs()
    assert len(scored.songs) == 12
    folds, final = seen[:3], seen[3]
    everything = final[0]
    assert len(everything) == 12 and not final[1]  # the final model: every song, no watching
    tested = []
    for fit_on, watched in folds:
        assert watched and fit_on and not fit_on & watched
        held_out = everything - fit_on - watched
        assert held_out and held_out.isdisjoint(watched)
        tested.append(held_out)
    assert set().union(*tested) == everything  # each song is held out by one fold
    assert sum(map(len, tested)) == 12


def test_a_networks_validation_split_is_stratified_by_every_single_label_task(
    library, tmp_path, monkeypatch
):
    """By the first task alone a genre could be missing from the songs a network learns
    from; the multi-label `tags` column is left out of the strata."""
    import tunetag.steps.train as train_step

    strata = []
    real_split = train_step.grouped_stratified_split

    def spy(labels, groups, *args, **kwargs):
        strata.append(list(labels))
        return real_split(labels, groups, *args, **kwargs)

    monkeypatch.setattr(train_step, "grouped_stratified_split", spy)
    config = RunConfig(
        train=TrainConfig(
            model="shortchunk", tasks=("mood", "genre", "tags"), folds=2, epochs=1, crop_s=1.0,
            crops_per_song=1,
        )
    )  # fmt: skip
    train(library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False)
    rows = {(row["mood"], row["genre"]) for row in SongTable.read(library["songs"]).rows}
    assert len(strata) == 2  # one inner split per fold
    for labels in strata:
        assert {tuple(label.split("\x1f")) for label in labels} <= rows
        assert len({label.split("\x1f")[1] for label in labels}) > 1  # genres, not only moods


def test_a_k_fold_summary_run_draws_its_learning_curve(library, tmp_path):
    config = RunConfig(train=TrainConfig(model="logreg", tasks=("mood", "tags"), folds=3))
    run = train(
        library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False
    )
    metrics = run.load_metrics()
    curves = metrics["learning_curve"]
    assert set(curves) == {"mood", "tags"}
    mood = curves["mood"]
    assert mood["metric"] == "balanced_accuracy" and curves["tags"]["metric"] == "macro_roc_auc"
    assert [p["fraction"] for p in mood["points"]] == [0.25, 0.5, 0.75, 1.0]
    songs = [p["songs"] for p in mood["points"]]
    assert songs == sorted(songs) and songs[0] < songs[-1] == 8  # 2 of 3 folds of 12 songs
    full = metrics["tasks"]["mood"]["summary"]["balanced_accuracy"]["folds"]
    assert mood["points"][-1]["folds"] == pytest.approx(full)  # 100 %: the run itself
    assert mood["gain_per_doubling"] is not None
    assert run.learning_curve_path.is_file()
    page = (run.path / "report.html").read_text(encoding="utf-8")
    assert "How many labels are enough" in page and "learning-curve.png" in page


def test_a_network_run_says_why_it_has_no_learning_curve(library, tmp_path):
    config = RunConfig(train=TrainConfig(model="shortchunk", epochs=1, crop_s=1.0))
    run = train(
        library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False
    )
    assert run.load_metrics()["learning_curve"] is None
    assert not run.learning_curve_path.exists()
    assert "No learning curve" in (run.path / "report.html").read_text(encoding="utf-8")


def test_the_time_budget_reaches_auto(library, tmp_path):
    """A spent budget leaves candidates out, and metrics.json says which, for the saved
    model and in each fold (where a fold with under 10 songs takes the fixed fallback)."""
    config = RunConfig(train=TrainConfig(model="auto", tasks=("mood",), time_budget_s=1e-9))
    run = train(
        library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False
    )
    selection = run.load_metrics()["selection"]
    assert run.load_config().train.time_budget_s == 1e-9
    mood = selection["model"]["mood"]
    assert len(mood["candidates"]) == 1 and "stack" in mood["left_out"]
    for fold in selection["folds"]:
        tried = fold["mood"]["candidates"]
        assert len(tried) == 1 or (not tried and fold["mood"]["chosen"] == "probe:all")


def test_autos_choice_never_sees_a_song_of_the_outer_fold_it_scores(library, tmp_path, monkeypatch):
    """Every choice auto makes (its inner cross-validation included) is fitted on exactly
    one outer fold's training songs, or on every song for the saved model; the songs each
    fold then scores are never among them."""
    from tunetag.models.auto import AutoProbe

    given = []
    real = AutoProbe.fit_summaries

    def spy(self, x, targets, multilabel, *args, **kwargs):
        given.append({row.tobytes() for row in np.asarray(x, dtype=np.float32)})
        return real(self, x, targets, multilabel, *args, **kwargs)

    monkeypatch.setattr(AutoProbe, "fit_summaries", spy)
    config = RunConfig(train=TrainConfig(model="auto", tasks=("mood",), folds=3))
    run = train(
        library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False
    )
    assert run.load_metrics()["folds"] == 3
    folds, everything = given[:3], given[3]
    assert len(everything) == 12
    held_out = [everything - fold for fold in folds]
    assert all(fold and held for fold, held in zip(folds, held_out, strict=True))
    assert set().union(*held_out) == everything and sum(map(len, held_out)) == 12
    scored, _ = run.load_scored_songs()
    assert len(scored.songs) == 12  # each song scored once, by the fold that held it out


def test_a_summary_model_fits_on_every_patch_and_scores_the_patches_predict_reads(
    library, tmp_path, monkeypatch
):
    """With fewer patches asked for, auto learns from every patch of the songs it is given
    but scores its held-out songs (and predicts) from the few, so the score is predict's."""
    from tunetag import models
    from tunetag.features.extract import extract_files
    from tunetag.models.auto import AutoProbe
    from tunetag.models.inputs import load_views, summary_statistics

    given = []
    real = AutoProbe.fit_summaries

    def spy(self, x, *args, **kwargs):
        given.append(np.asarray(x, dtype=np.float32))
        return real(self, x, *args, **kwargs)

    monkeypatch.setattr(AutoProbe, "fit_summaries", spy)
    one = FeatureConfig(patches_per_window=1)  # of the two 3 s patches of these 8 s songs
    config = RunConfig(features=one, train=TrainConfig(model="auto", tasks=("mood",), folds=2))
    run = train(
        library["songs"], tmp_path / "run", config, cache_dir=library["cache"], progress=False
    )
    assert run.load_config().features.patches_per_window == 1
    report = (run.path / "report.html").read_text(encoding="utf-8")
    assert "1 of each window&#x27;s 3 s patches read, evenly spread (every patch of the" in report
    table = library["table"]
    paths = [table.audio_path(row) for row in table.rows]

    def summaries(features):
        found = extract_files(paths, models.run_features("auto", features), library["cache"])
        return np.stack([summary_statistics(load_views(found.ok[p])) for p in paths])

    every, few = summaries(FeatureConfig(patches_per_window="all")), summaries(one)
    assert not {row.tobytes() for row in every} & {row.tobytes() for row in few}
    saved = max(given, key=len)  # the saved model, fitted on every song
    assert {row.tobytes() for row in saved} == {row.tobytes() for row in every}
    predict(run.path, [library["songs"]], tmp_path / "p.csv", cache_dir=library["cache"])
    with torch.no_grad():
        logits = run.load_model()({"summary": torch.from_numpy(few)})["mood"]
    expected = torch.softmax(logits, dim=1)[:, 0].numpy()
    by_path = {song.path: song for song in read_predictions(tmp_path / "p.csv").songs}
    first = run.load_tasks()[0].classes[0]
    found = [by_path[path.resolve()].probabilities["mood"][first] for path in paths]
    np.testing.assert_allclose(found, expected, atol=1e-4)
