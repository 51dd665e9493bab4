"""Train a model on the labelled songs of a CSV and leave a complete run folder."""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tunetag import models
from tunetag.config import EVERY_PATCH, RunConfig, TrainConfig, default_cache_dir
from tunetag.errors import ParameterError
from tunetag.evaluation.learning import fold_interval, headline_metric
from tunetag.evaluation.metrics import summarise_folds
from tunetag.evaluation.run_outputs import write_run_outputs
from tunetag.evaluation.task_metrics import task_metrics
from tunetag.features.extract import extract_files
from tunetag.features.views import VIEWS
from tunetag.library.predictions import PredictedSong
from tunetag.library.songtable import LABEL_SEPARATOR, SongTable
from tunetag.library.tasks import Task, tasks_from_table
from tunetag.models.inputs import crop_frames
from tunetag.runs.classify import predicted_song
from tunetag.runs.folder import RunFolder, model_view_rows
from tunetag.runs.probabilities import pick_device
from tunetag.runtime import distributed
from tunetag.steps.learning_curve import learning_curves
from tunetag.training.checkpoint import StageCheckpoint, TrainingCheckpoint, checkpoint_key
from tunetag.training.datasets import SongExample
from tunetag.training.loop import fit
from tunetag.training.results import FitResult
from tunetag.training.splits import grouped_stratified_folds, grouped_stratified_split
from tunetag.training.validation import song_probabilities_across_ranks

POS_WEIGHT_RANGE = (0.1, 10.0)  # bounds of a multi-label positive weight (negatives/positives)


def train(
    csv_path: str | Path,
    out_dir: str | Path,
    config: RunConfig | None = None,
    *,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    resume: bool = False,
    overwrite: bool = True,
) -> RunFolder:
    """Train ``config.train.model`` on every song labelled for at least one task.

    With ``config.train.folds == 1`` the songs are split once (stratified by the first
    task, grouped by artist, so no artist is on both sides) and the held-out songs are
    scored. With k folds, k models are trained so that every song is scored once by a model
    that never saw it or its artist; the metrics pool those scores and give the mean and
    spread over folds, and the saved model is retrained on every song for the median best
    epoch. A network's best epoch (early stopping) is chosen on an inner validation split of
    each fold's training songs (`_validation_split`), never on the songs it scores, so the
    figures are not optimistic; a summary model is fitted in closed form (its own choices
    made inside its training songs, see `tunetag.models.auto`).

    Under ``torchrun --nproc_per_node=N -m tunetag train ...`` (``WORLD_SIZE`` > 1 in the
    environment) this opens a process group (`distributed.process_group`) and every process
    runs this function: each machine's first process extracts the features, the others then
    read them from the cache; all make the same split and train together (see
    `tunetag.training.loop.fit`), every fold of a k-fold run and the logistic baseline
    included; rank 0 alone writes the run folder and shows progress, and the others wait
    for it before they return the same `RunFolder`.

    Parameters
    ----------
    csv_path : path
        The song CSV (``tunetag scan``), with a label column per task.
    out_dir : path
        The run folder to create.
    config : RunConfig
        Feature and training settings; defaults otherwise. The pretrained musicnn models
        read their own features, taking only the window, the tagger and the patches from
        ``config.features``, and refuse other rates, mels or views
        (`tunetag.models.run_features`); the config saved in the run says what was read.
    cache_dir : path, optional
        Feature cache folder (default: `default_cache_dir`).
    executor : concurrent.futures.Executor, optional
        Where feature extraction runs (default: a local process pool).
    progress : bool
        Show progress bars.
    resume : bool
        Go on from the checkpoint an interrupted run left in ``out_dir`` (see
        `tunetag.training.checkpoint`): the result is the one the uninterrupted run would
        have given. Without a checkpoint it starts from the beginning; one made with other
        settings or songs is an error. A finished run of the same settings is left as it is
        and returned (its songs are not compared); one of other settings is an error.
    overwrite : bool
        Replace a run already in ``out_dir``, finished or interrupted (ignored with
        ``resume``). False refuses it before any work: the command's default, which
        ``--overwrite`` turns off.

    Returns
    -------
    RunFolder
        The run folder, with model, config, labels, history, metrics, plots and the scored
        songs (``scored-songs.csv``, which the report's song tables read).
    """
    config = config or RunConfig()
    config = dataclasses.replace(
        config, features=models.run_features(config.train.model, config.features)
    )
    _check_gain(config)
    if finished_before(RunFolder(out_dir), config, resume=resume, overwrite=overwrite):
        if progress:
            print(f"{out_dir}: finished with these settings; nothing to resume")
        return RunFolder(out_dir)
    with distributed.process_group() as world:
        progress = progress and world.writes_files
        model_class = models.model_class(config.train.model)
        table = SongTable.read(csv_path)
        tasks = tasks_from_table(table, config.train.tasks)
        with distributed.local_rank_first():
            songs = _labelled_songs(table, tasks, config, cache_dir, executor, progress)
        distributed.require_same(songs.rows, "which songs could be read")
        splits = _splits(songs, config, getattr(model_class, "default_folds", 1), progress)
        config = dataclasses.replace(
            config,
            train=dataclasses.replace(
                config.train,
                folds=len(splits),
                batch_size=config.train.batch_size or model_class.default_batch_size,
                learning_rate=config.train.learning_rate or model_class.default_learning_rate,
            ),
        )
        checkpoint = _checkpoint(out_dir, config, songs, splits, resume, progress)
        trainer = _Trainer(config, tasks, progress)
        outcome = _cross_validate(trainer, songs, splits, checkpoint)
        curves = _learning_curves(trainer, songs, splits, outcome)
        run = RunFolder(out_dir)
        if world.writes_files:
            _write_run(run, config, tasks, table, songs, outcome, curves, cache_dir)
        distributed.barrier()
        checkpoint.remove()
    return run


def _checkpoint(
    out_dir: str | Path,
    config: RunConfig,
    songs: _Songs,
    splits: list[tuple[np.ndarray, np.ndarray]],
    resume: bool,
    progress: bool,
) -> TrainingCheckpoint:
    """The run's checkpoint, read back when resuming; says what was found."""
    described = [
        {
            "views": {view: str(path) for view, path in example.view_paths.items()},
            "targets": {task: target.tolist() for task, target in example.targets.items()},
        }
        for example in songs.examples
    ]
    key = checkpoint_key(config.to_json(), described, splits)
    checkpoint = TrainingCheckpoint(out_dir, key, resume=resume)
    if progress and resume:
        if checkpoint.resumed:
            print(f"resuming from {checkpoint.path}")
        else:
            print(f"no checkpoint in {out_dir}: training from the start")
    return checkpoint


def finished_before(run: RunFolder, config: RunConfig, *, resume: bool, overwrite: bool) -> bool:
    """Whether ``run`` already holds this finished run, so resuming has nothing to do.

    Checked before any work, so that a run is never replaced unasked: a finished or
    interrupted run is refused unless ``overwrite`` or ``resume`` (an interrupted one is
    resumed; a finished one of other settings is refused)."""
    interrupted = any(run.path.glob("checkpoint*.pt"))
    finished = run.config_path.is_file() and not interrupted
    if resume:
        if not finished:
            return False
        other = _other_settings(run.load_config(), config)
        if other:
            raise ParameterError(
                f"{run.path}: holds a finished run of other settings ({', '.join(other)}); "
                "nothing to resume: give another folder, or --overwrite to replace it"
            )
        return True
    if overwrite or not (finished or interrupted):
        return False
    if interrupted:
        raise ParameterError(
            f"{run.path}: holds an interrupted run; give --resume to go on from its "
            "checkpoint, or --overwrite to start again"
        )
    raise ParameterError(
        f"{run.path}: holds a finished run; give another folder, or --overwrite to replace it"
    )


def _other_settings(saved: RunConfig, wanted: RunConfig) -> list[str]:
    """The settings (``train.seed``...) in which ``wanted`` differs from a saved run's; one
    left to the model (None) takes the value the saved run chose."""
    chosen = {
        name: getattr(saved.train, name)
        for name in ("folds", "batch_size", "learning_rate")
        if getattr(wanted.train, name) is None
    }
    wanted = dataclasses.replace(wanted, train=dataclasses.replace(wanted.train, **chosen))
    flat_saved, flat_wanted = _flat(saved.to_dict()), _flat(wanted.to_dict())
    return sorted(
        key for key in flat_saved | flat_wanted if flat_saved.get(key) != flat_wanted.get(key)
    )


def _flat(settings: dict, prefix: str = "") -> dict:
    """Nested settings as one level of dotted names."""
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[prefix + key] = value
    return flat


def _check_gain(config: RunConfig) -> None:
    """Random gain adds dB: refuse it on a mel that is not in dB (musicnn's logc), and where
    no view is in dB (musicnn-finetune's pooled features), as it would change nothing."""
    features = config.features
    if config.train.augment_gain_db and "mel" in features.views and features.mel.scale != "db":
        raise ParameterError(
            f"--augment-gain adds dB, and this run's mel is on the {features.mel.scale!r} "
            "scale (musicnn's input): leave the gain at 0"
        )
    if config.train.augment_gain_db and not any(VIEWS[view].in_db for view in features.views):
        raise ParameterError(
            f"--augment-gain adds dB, and no view of this run ({', '.join(features.views)}) "
            "is in dB: leave the gain at 0"
        )


def _write_run(
    run: RunFolder,
    config: RunConfig,
    tasks: list[Task],
    table: SongTable,
    songs: _Songs,
    outcome: _Outcome,
    curves: dict[str, dict] | None,
    cache_dir: str | Path | None,
) -> None:
    """Every file of the run folder: model, settings, scores, then what evaluation draws
    (the report's why strips from the cache the run was trained from)."""
    run.save_config(config)
    run.save_tasks(tasks)
    run.save_model(outcome.final_state)
    run.save_scored_songs(tasks, *_scored_songs(table, tasks, songs, outcome, run.run_id()))
    run.save_history(outcome.history)
    metrics = _run_metrics(config, tasks, songs, outcome, curves)
    run.save_metrics(metrics)
    write_run_outputs(run, tasks, outcome.history, metrics, cache_dir)


@dataclass
class _Songs:
    """The labelled songs that decoded, as training examples, with what splits need."""

    examples: list[SongExample]
    rows: list[int]  # the song table row of each example
    strata: list[str]  # the first task's (first) label of each song; "" when unlabelled
    # every single-label task's label of each song, joined: what a network's inner
    # validation split is stratified by, so no task loses a class from either side
    joint_strata: list[str]
    groups: list[str]  # the group (artist) of each song
    labelled: int  # songs with a label for at least one task
    skipped: int  # of those, songs that could not be read


@dataclass
class _Outcome:
    """Every fold's history and scores, pooled scores, and the weights to save."""

    history: list[dict[str, float]]
    fold_metrics: list[dict[str, dict]]
    pooled: dict[str, dict]
    scored: np.ndarray  # indices of the examples scored by a model that never saw them
    probabilities: dict[str, np.ndarray]  # task -> (len(scored), n_outputs) song probabilities
    best_epochs: list[int]
    final_state: dict[str, torch.Tensor]
    selections: list[dict]  # what a summary model chose in each fold (its `selection`)
    final_selection: dict  # and for the saved model; both empty for other models


def _labelled_songs(
    table: SongTable,
    tasks: list[Task],
    config: RunConfig,
    cache_dir: str | Path | None,
    executor: Executor | None,
    progress: bool,
) -> _Songs:
    """Extract (or find in the cache) the views of every labelled song."""
    label_sets = {task.name: table.label_sets(task.name) for task in tasks}
    labelled = sorted(set().union(*(found.keys() for found in label_sets.values())))
    paths = [table.audio_path(table.rows[i]) for i in labelled]
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    fitted = None  # every patch, where a summary model fits on more than it predicts from
    if (
        config.features.patches_read is not None
        and models.model_class(config.train.model).input_kind == "summary"
    ):
        every_patch = dataclasses.replace(config.features, patches_per_window=EVERY_PATCH)
        fitted = extract_files(paths, every_patch, cache, executor=executor, progress=progress)
        paths = [path for path in paths if path in fitted.ok]  # a bad file says so once
    report = extract_files(paths, config.features, cache, executor=executor, progress=progress)
    usable = [i for i in labelled if table.audio_path(table.rows[i]) in report.ok]
    first = label_sets[tasks[0].name]
    groups = table.groups(config.train.group_by)
    return _Songs(
        examples=[
            SongExample(
                view_paths=report.ok[table.audio_path(table.rows[i])],
                targets={task.name: task.target(label_sets[task.name].get(i)) for task in tasks},
                fit_view_paths=fitted.ok[table.audio_path(table.rows[i])] if fitted else None,
            )
            for i in usable
        ],
        rows=usable,
        strata=[first[i][0] if i in first else "" for i in usable],
        joint_strata=[
            "\x1f".join(
                label_sets[task.name].get(i, ("",))[0] for task in tasks if not task.multilabel
            )
            for i in usable
        ],
        groups=[groups[i] for i in usable],
        labelled=len(labelled),
        skipped=len(labelled) - len(usable),
    )


def _splits(
    songs: _Songs, config: RunConfig, model_folds: int, progress: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One stratified, artist-grouped split, or k folds of that kind.

    Folds asked for are made or refused; without ``config.train.folds`` the model's own
    number (``default_folds``: 5 for ``auto``) is used, fewer where the library has fewer
    artists or a smaller largest class, and one split where not even 2 folds fit.
    """
    train = config.train
    folds = train.folds
    if folds is None:
        largest = max(songs.strata.count(label) for label in set(songs.strata))
        folds = min(model_folds, len(set(songs.groups)), largest)
        if folds < model_folds and progress:
            print(
                f"{len(songs.examples)} songs of {len(set(songs.groups))} artists: "
                f"{max(folds, 1)} folds instead of {model_folds}"
                + (" (one split)" if folds < 2 else "")
            )
    if folds < 2:
        split = grouped_stratified_split(
            songs.strata, songs.groups, train.val_fraction, train.seed, group_name=train.group_by
        )
        return [split]
    return grouped_stratified_folds(
        songs.strata, songs.groups, folds, train.seed, group_name=train.group_by
    )


def _cross_validate(
    trainer: _Trainer,
    songs: _Songs,
    splits: list[tuple[np.ndarray, np.ndarray]],
    checkpoint: TrainingCheckpoint,
) -> _Outcome:
    """Train on each split's training songs and score its held-out songs; with several
    folds, retrain on every song for the folds' median best epoch. Each finished fold is
    kept in ``checkpoint``, and a fold it holds is not trained again."""
    tasks = trainer.tasks
    examples = songs.examples
    history: list[dict[str, float]] = []
    fold_metrics: list[dict[str, dict]] = []
    scored = np.zeros(len(examples), dtype=bool)
    probabilities = {task.name: np.full((len(examples), task.n_outputs), np.nan) for task in tasks}
    best_epochs, final_state, selections, final_selection = [], {}, [], {}
    for fold, (train_idx, test_idx) in enumerate(splits, start=1):
        if trainer.progress and len(splits) > 1:
            print(f"fold {fold}/{len(splits)}: train {len(train_idx)}, score {len(test_idx)} songs")
        test = [examples[k] for k in test_idx]
        stage = f"fold {fold}"
        if checkpoint.finished(stage) is None:
            result, fold_probs = trainer.fit(songs, train_idx, test, checkpoint.for_stage(stage))
            checkpoint.finish(stage, _fold_record(result, fold_probs, keep_state=len(splits) == 1))
        result, fold_probs = _fold_from_record(checkpoint.finished(stage))
        history += [{"fold": fold, **row} if len(splits) > 1 else row for row in result.history]
        best_epochs.append(result.best_epoch)
        final_state = result.best_state
        final_selection = _selection(result.history)
        selections.append(final_selection)
        scored[test_idx] = True
        for task in tasks:
            probabilities[task.name][test_idx] = fold_probs[task.name]
        fold_metrics.append(_metrics(tasks, test, fold_probs))
    if len(splits) > 1:
        epochs = max(1, round(statistics.median(best_epochs)))
        if trainer.progress:
            print(f"final model: every song, {epochs} epochs (the folds' median best epoch)")
        if checkpoint.finished("final") is None:
            result = trainer.fit_all(examples, epochs, checkpoint.for_stage("final"))
            checkpoint.finish("final", {"state": result.best_state, "history": result.history})
        final = checkpoint.finished("final")
        final_state, final_selection = final["state"], _selection(final["history"])
    scored_probabilities = {name: found[scored] for name, found in probabilities.items()}
    scored_index = np.flatnonzero(scored)
    pooled = _metrics(tasks, [examples[k] for k in scored_index], scored_probabilities)
    return _Outcome(
        history,
        fold_metrics,
        pooled,
        scored_index,
        scored_probabilities,
        best_epochs,
        final_state,
        selections,
        final_selection,
    )


def _fold_interval(task: Task, summary: dict) -> dict:
    """The Student t 95 % interval over folds of the task's headline score (balanced
    accuracy, macro ROC-AUC for multi-label): the noise two models must differ by."""
    metric = headline_metric(task.multilabel)
    interval = fold_interval(summary[metric]["folds"]) if metric in summary else None
    return {"metric": metric, "interval": interval}


def _selection(history: list[dict]) -> dict:
    """What a summary model chose in a fit, from its history row (empty for a network)."""
    text = history[-1].get("selection") if history else None
    return json.loads(text) if text else {}


def _learning_curves(
    trainer: _Trainer,
    songs: _Songs,
    splits: list[tuple[np.ndarray, np.ndarray]],
    outcome: _Outcome,
) -> dict[str, dict] | None:
    """The learning curve of a k-fold run of a model fitted in closed form (a network's
    would train three more times per fold, so none is drawn for it)."""
    if len(splits) < 2 or trainer.input_kind != "summary":
        return None

    def fit_and_score(train_idx: np.ndarray, test_idx: np.ndarray) -> dict[str, np.ndarray]:
        test = [songs.examples[k] for k in test_idx]
        return trainer.fit(songs, train_idx, test, None)[1]

    return learning_curves(
        trainer.tasks,
        songs.examples,
        songs.strata,
        splits,
        outcome.fold_metrics,
        fit_and_score,
        seed=trainer.config.train.seed,
        progress=trainer.progress,
    )


def _fold_record(result: FitResult, probabilities: dict[str, np.ndarray], keep_state: bool) -> dict:
    """What a checkpoint keeps of a finished fold (tensors and plain data only, so that it
    loads with ``weights_only``); its weights only when they are the model to save."""
    return {
        "history": result.history,
        "best_epoch": result.best_epoch,
        "best_state": result.best_state if keep_state else {},
        "probabilities": {task: torch.from_numpy(p) for task, p in probabilities.items()},
    }


def _fold_from_record(record: dict) -> tuple[FitResult, dict[str, np.ndarray]]:
    """A finished fold back from `_fold_record`."""
    result = FitResult(record["history"], record["best_state"], record["best_epoch"])
    return result, {task: p.numpy() for task, p in record["probabilities"].items()}


def _scored_songs(
    table: SongTable, tasks: list[Task], songs: _Songs, outcome: _Outcome, run_id: str
) -> tuple[list[PredictedSong], list[dict[str, str]]]:
    """Each scored song as a prediction of the model that never saw it, and its true labels
    per task (joined by ``;``; "" when unlabelled), for ``scored-songs.csv``."""
    rows = [table.rows[songs.rows[k]] for k in outcome.scored]
    found, truth = [], []
    for j, (k, row) in enumerate(zip(outcome.scored, rows, strict=True)):
        probabilities = {task.name: outcome.probabilities[task.name][j] for task in tasks}
        song = predicted_song(
            table.audio_path(row),
            tasks,
            probabilities,
            artist=row.get("artist", ""),
            title=row.get("title", ""),
            duration_s=_seconds(row.get("duration_s", "")),
            run=run_id,
        )
        targets = songs.examples[k].targets
        labels = {
            task.name: LABEL_SEPARATOR.join(
                c for c, t in zip(task.classes, targets[task.name], strict=True) if t == 1
            )
            for task in tasks
        }
        found.append(song)
        truth.append(labels)
    return found, truth


def _seconds(text: str) -> float | None:
    """A duration cell in seconds, None when empty or not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _run_metrics(
    config: RunConfig,
    tasks: list[Task],
    songs: _Songs,
    outcome: _Outcome,
    curves: dict[str, dict] | None,
) -> dict:
    """What ``metrics.json`` holds: per task the pooled metrics, or with k folds the pooled
    metrics, their mean and spread over folds and the 95 % interval of the accuracy; the
    learning curve per task where one was drawn; and what a model that chooses (``auto``'s
    input, ``logreg``'s C) chose for the saved model and in each fold (else None)."""
    folds = len(outcome.fold_metrics)
    metrics: dict = {
        "model": config.train.model,
        "views": list(config.features.views),
        "folds": folds,
        "best_epochs": outcome.best_epochs,
        "songs": {
            "labelled": songs.labelled,
            "used": len(songs.examples),
            "skipped": songs.skipped,
            "scored": len(outcome.scored),
        },
        "tasks": {},
        "learning_curve": curves,
        "selection": (
            {"model": outcome.final_selection, "folds": outcome.selections}
            if outcome.final_selection
            else None
        ),
    }
    for task in tasks:
        pooled = outcome.pooled[task.name]
        if folds > 1:
            summary = summarise_folds([fold[task.name] for fold in outcome.fold_metrics])
            pooled = {
                "pooled": pooled,
                "summary": summary,
                "interval_95": pooled.get("interval_95"),
                "fold_interval_95": _fold_interval(task, summary),
            }
        metrics["tasks"][task.name] = pooled
    return metrics


class _Trainer:
    """Builds, trains and scores one model the same way for every fold."""

    def __init__(self, config: RunConfig, tasks: list[Task], progress: bool) -> None:
        self.config = config
        self.tasks = tasks
        self.progress = progress
        self.input_kind = models.model_class(config.train.model).input_kind
        self.crop_frames = crop_frames(config.train.crop_s, config.features.frames_per_second())
        self.device = pick_device()

    def fit(
        self,
        songs: _Songs,
        train_idx: np.ndarray,
        test: list[SongExample],
        checkpoint: StageCheckpoint | None,
    ):
        """Train on the songs ``train_idx``, then the probabilities of ``test`` (on every
        process under torchrun). A network stops early on an inner validation split of its
        training songs; a summary model has no epochs to choose, and its history row shows
        how it scores ``test``, which nothing is chosen on."""
        if self.input_kind == "summary":
            train, validation = [songs.examples[k] for k in train_idx], test
        else:
            fit_idx, val_idx = _validation_split(songs, train_idx, self.config.train, self.progress)
            train = [songs.examples[k] for k in fit_idx]
            validation = [songs.examples[k] for k in val_idx]
        model = self._model()
        result = fit(
            model,
            self.tasks,
            train,
            validation,
            input_kind=self.input_kind,
            crop_frames=self.crop_frames,
            config=self.config.train,
            class_weights=class_weights(train, self.tasks),
            device=self.device,
            progress=self.progress,
            checkpoint=checkpoint,
        )
        model.load_state_dict(result.best_state)
        probabilities = song_probabilities_across_ranks(
            model,
            [example.view_paths for example in test],
            self.tasks,
            input_kind=self.input_kind,
            crop_frames=self.crop_frames,
            device=self.device,
        )
        return result, probabilities

    def fit_all(
        self, examples: list[SongExample], epochs: int, checkpoint: StageCheckpoint
    ) -> FitResult:
        """Train on every song for a fixed number of epochs (the last epoch's weights)."""
        config = dataclasses.replace(self.config.train, epochs=epochs)
        return fit(
            self._model(),
            self.tasks,
            examples,
            [],
            input_kind=self.input_kind,
            crop_frames=self.crop_frames,
            config=config,
            class_weights=class_weights(examples, self.tasks),
            device=self.device,
            progress=self.progress,
            checkpoint=checkpoint,
        )

    def _model(self) -> torch.nn.Module:
        torch.manual_seed(self.config.train.seed)
        return models.create(
            self.config.train.model,
            {task.name: task.n_outputs for task in self.tasks},
            view_rows=model_view_rows(self.config.features),
        )


def _validation_split(
    songs: _Songs, train_idx: np.ndarray, config: TrainConfig, progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The songs of ``train_idx`` a network trains on and those its early stopping watches:
    ``config.val_fraction`` of them, grouped as the outer split (songs one by one when
    they come from a single group) and stratified by every single-label task at once: by
    the first alone, a genre could be missing from the songs a network learns from."""
    strata = [songs.joint_strata[k] for k in train_idx]
    groups = [songs.groups[k] for k in train_idx]
    if len(set(groups)) < 2:
        if progress:
            print("early stopping: the training songs are of one artist, so split song by song")
        groups = [str(k) for k in train_idx]
    fit_at, val_at = grouped_stratified_split(strata, groups, config.val_fraction, config.seed)
    return train_idx[fit_at], train_idx[val_at]


def _metrics(
    tasks: Sequence[Task], examples: Sequence[SongExample], probabilities: dict[str, np.ndarray]
) -> dict[str, dict]:
    """Song-level metrics per task, over the songs labelled for it."""
    found = {}
    for task in tasks:
        truth = np.stack([example.targets[task.name] for example in examples])
        found[task.name] = task_metrics(task, truth, probabilities[task.name])
    return found


def class_weights(
    examples: Sequence[SongExample], tasks: Sequence[Task]
) -> dict[str, torch.Tensor]:
    """Per task, weights that make a rare class count as much as a common one.

    Single-label: inverse class frequency, mean 1 over the classes present. Multi-label:
    the positive weight of each label, negatives / positives, within `POS_WEIGHT_RANGE`.
    """
    weights = {}
    for task in tasks:
        truth = np.stack([example.targets[task.name] for example in examples])
        truth = truth[~np.isnan(truth).any(axis=1)]
        positives = truth.sum(axis=0)
        if task.multilabel:
            ratio = (len(truth) - positives) / np.maximum(positives, 1)
            weights[task.name] = torch.tensor(
                np.clip(ratio, *POS_WEIGHT_RANGE), dtype=torch.float32
            )
        else:
            inverse = np.where(positives > 0, positives.sum() / np.maximum(positives, 1), 0.0)
            weights[task.name] = torch.tensor(
                inverse / inverse[inverse > 0].mean(), dtype=torch.float32
            )
    return weights
