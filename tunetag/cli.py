"""The `tunetag` command: parse options, call the Python function, print. No logic here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import click
import typer
from typer.core import TyperCommand, TyperGroup

from tunetag import __version__
from tunetag.config import (
    DEFAULT_TAGGER,
    EVERY_PATCH,
    AudioConfig,
    FeatureConfig,
    MelConfig,
    RunConfig,
    TrainConfig,
)
from tunetag.errors import ParameterError, SettingError, TunetagError
from tunetag.features.views import VIEWS
from tunetag.files import paths
from tunetag.runtime.executors import open_executor

# the click typer runs on (its own copy in recent versions): its usage error is an ancestor
# of typer's public BadParameter
_USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class OneLineUsageErrors(TyperGroup):
    """The `tunetag` command: a mistyped option or argument is one line, ``error: ...``,
    as every other mistake is, not click's usage, hint and error lines (exit code 2 still)."""

    def make_context(self, info_name, args, parent=None, **extra):
        with _one_line_usage():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        with _one_line_usage():  # a command's own options and arguments are parsed here
            return super().invoke(ctx)


class _UsageLine(_CLICK_EXCEPTION):
    exit_code = 2

    def show(self, file=None) -> None:
        typer.echo(f"error: {self.format_message()}", file=file, err=True)


@contextmanager
def _one_line_usage() -> Iterator[None]:
    try:
        yield
    except _USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            raise  # a bare `tunetag` or command shows its help, as asked
        command = exc.ctx.command_path if exc.ctx is not None else "tunetag"
        raise _UsageLine(f"{command}: {exc.format_message()}") from exc


app = typer.Typer(
    cls=OneLineUsageErrors,
    help="Learn how you hear your music: label songs, learn your labels, tag the rest.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts say "[default: ...]" literally
)


class PlainHelp(TyperCommand):
    """A command whose ``--help`` names values as click does (``CSV_PATH``, ``--task TEXT``):
    typer's own ``{csv_path}`` and ``<list[str]>`` are Python notation, not a person's."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        arguments = [p for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return [self.options_metavar, *(_argument_name(argument) for argument in arguments)]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, list[tuple[str, str]]] = {"argument": [], "option": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                name = _argument_name(param).strip("[]")
            else:
                name = click.formatting.join_options(param.opts)[0]
                if param.secondary_opts:  # an on/off pair: --learn / --no-learn
                    name += " / " + click.formatting.join_options(param.secondary_opts)[0]
                name += "" if param.is_flag else f" {_value_name(param, ctx)}"
            rows[param.param_type_name].append((name, record[1]))
        for title, kind in (("Arguments", "argument"), ("Options", "option")):
            if rows[kind]:
                with formatter.section(title):
                    formatter.write_dl(rows[kind])


# typer's names of a value's type, in the words click's own help uses
_VALUE_WORDS = {"int": "INTEGER", "float": "FLOAT", "str": "TEXT", "path": "PATH"}


def _argument_name(argument: click.Parameter) -> str:
    """``CSV_PATH``, ``INPUTS...``; in brackets when it may be left out."""
    name = (argument.metavar or argument.name).upper() + ("..." if argument.nargs != 1 else "")
    return name if argument.required else f"[{name}]"


def _value_name(option: click.Parameter, ctx: click.Context) -> str:
    """What an option takes: its metavar, ``PATH``, ``INTEGER``, or its choices."""
    if option.metavar:
        return option.metavar
    label = re.sub(r"^list\[(.*)\]$", r"\1", option.display_type(ctx).strip("<>"))
    label = label.removesuffix(" range")
    return _VALUE_WORDS.get(label, label)


def _show_version(given: bool) -> None:
    if given:
        typer.echo(f"tunetag {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    pass  # the options of `tunetag` itself; each command is its own function


CacheOption = Annotated[
    Path | None,
    typer.Option(
        "--cache", help="Feature cache folder [default: $TUNETAG_CACHE or ~/.cache/tunetag]."
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Processes for decoding [default: all cores]."),
]
DaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help=(
            "Decode on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786). "
            "The workers write the cache themselves: --cache (and the music) must be a "
            "shared folder every worker reaches at the same path."
        ),
    ),
]
OldSeedOption = Annotated[  # the name before 0.2, kept one release so scripts have time to change
    int | None, typer.Option("--seed", hidden=True, help="Old name of --random-seed.")
]
SampleRateOption = Annotated[int, typer.Option("--sample-rate", help="Analysis rate, Hz.")]
WindowOption = Annotated[float, typer.Option("--window", help="Seconds analysed per song.")]
NMelsOption = Annotated[int, typer.Option("--n-mels", help="Mel bands.")]
ViewsOption = Annotated[
    str,
    typer.Option(
        "--views",
        help="Comma-separated views: "
        + ", ".join(name for name, view in VIEWS.items() if not view.per_patch)
        + "; per 3 s patch, for the models that summarise a song: "
        + ", ".join(name for name, view in VIEWS.items() if view.per_patch)
        + ".",
    ),
]


PatchesOption = Annotated[
    str | None,
    typer.Option(
        "--patches",
        help="3 s patches of each window the taggers' views and the descriptors read, evenly "
        "spread, or 'all': fewer is faster and learns less (see the README); a summary "
        "model such as auto still fits on every patch of the songs it learns from "
        "[default: the model's own: 12 for auto, all for the others].",
    ),
]


def _features(
    sample_rate: int, window: float, n_mels: int, views: str, patches: str | None = None
) -> FeatureConfig:
    return FeatureConfig(
        audio=AudioConfig(sample_rate=sample_rate, window_s=window),
        mel=MelConfig(n_mels=n_mels),
        views=tuple(view.strip() for view in views.split(",") if view.strip()),
        patches_per_window=_patches(patches),
    )


def _patches(given: str | None) -> int | str | None:
    """``--patches``: a count of 1 or more, or 'all'; None when not given (the model's own)."""
    if given is None:
        return None
    if given.strip().lower() == EVERY_PATCH:
        return EVERY_PATCH
    count = int(given) if given.strip().isdigit() else 0
    if count < 1:
        raise ParameterError(
            f"--patches takes a count of 1 or more or {EVERY_PATCH!r}, got {given!r}"
        )
    return count


def _random_seed(random_seed: int | None, old_seed: int | None, default: int) -> int:
    """``--random-seed``, or ``--seed`` (its old name; ``seed`` is also a model's name)."""
    if random_seed is not None and old_seed is not None:
        raise ParameterError("give --random-seed alone; --seed is its old name")
    for given in (random_seed, old_seed):
        if given is not None:
            return given
    return default


def _task_line(found: dict) -> str:
    """One line per task of a metrics.json: accuracy or ROC-AUC, k-fold or not, always with
    its 95% interval where it has one (a figure without it reads as more than it is)."""
    pooled_interval = found.get("interval_95")
    if "pooled" in found:
        summary = found["summary"]
        key = "balanced_accuracy" if "balanced_accuracy" in summary else "macro_roc_auc"
        if key not in summary:
            return "no labelled song scored"
        text = f"{key.replace('_', ' ')} {summary[key]['mean']:.3f} +- {summary[key]['std']:.3f}"
        lo_hi = (found.get("fold_interval_95") or {}).get("interval")
        text += f" over folds (95% interval {lo_hi[0]:.3f}-{lo_hi[1]:.3f})" if lo_hi else ""
        if "accuracy" in summary:
            text += f", accuracy {summary['accuracy']['mean']:.3f}"
            if not lo_hi and pooled_interval:
                text += f" (95% interval {pooled_interval[0]:.3f}-{pooled_interval[1]:.3f})"
        return text
    if "accuracy" in found:
        return (
            f"{found['n_songs']} songs, accuracy {found['accuracy']:.3f} (95% interval "
            f"{pooled_interval[0]:.3f}-{pooled_interval[1]:.3f}), balanced "
            f"{found['balanced_accuracy']:.3f} (chance {found['chance_accuracy']:.3f})"
        )
    if "macro_roc_auc" in found:
        return f"{found['n_songs']} songs, macro ROC-AUC {found['macro_roc_auc']:.3f}"
    return "no labelled song scored"


TRUSTED_SONGS = 20  # below this many scored songs, a 95% interval spans most of 0-1


def _echo_task(name: str, found: dict, indent: str = "") -> None:
    """A task's line, and a warning when its figure rests on too few songs to trust."""
    typer.echo(f"{indent}{name}: {_task_line(found)}")
    scored = found.get("pooled", found).get("n_songs", 0)
    if 0 < scored < TRUSTED_SONGS:
        typer.echo(
            f"{indent}  warning: {scored} scored songs are too few to trust this figure "
            f"(label {TRUSTED_SONGS} or more)",
            err=True,
        )


# The option a person types for each setting of tunetag.config a command takes, so that a
# setting out of range is told in their words (--window, not window_s).
SETTING_OPTIONS = {
    "sample_rate": "--sample-rate",
    "window_s": "--window",
    "n_mels": "--n-mels",
    "tasks": "--task",
    "epochs": "--epochs",
    "patience": "--patience",
    "batch_size": "--batch-size",
    "learning_rate": "--lr",
    "crop_s": "--crop",
    "crops_per_song": "--crops-per-song",
    "val_fraction": "--val-fraction",
    "folds": "--folds",
    "time_budget_s": "--time-budget",
    "augment_gain_db": "--augment-gain",
    "augment_time_masks": "--time-masks",
    "augment_freq_masks": "--freq-masks",
    "mixup_alpha": "--mixup",
}


@contextmanager
def _step(workers: int | None = None, dask: str | None = None) -> Iterator[Executor | None]:
    """Run a command's step: the executor it asked for, and a `TunetagError` as one line.

    A person's mistake (a missing file, a bad option) is ``error: <message>`` on stderr and
    exit code 1, not a traceback; any other exception is a bug and keeps its traceback.
    """
    try:
        with open_executor(workers, dask) as executor:
            yield executor
    except SettingError as exc:
        typer.echo(f"error: {SETTING_OPTIONS.get(exc.setting, exc.setting)} {exc.reason}", err=True)
        raise typer.Exit(code=1) from None
    except TunetagError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None


@app.command(cls=PlainHelp, short_help="Find the songs; write the song CSV.")
def scan(
    music_dir: Annotated[Path, typer.Argument(help="Folder of music, searched recursively.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Song CSV to write or update.")],
    label_from_folder: Annotated[
        str | None,
        typer.Option(help="Fill this label column from each song's folder name (e.g. mood)."),
    ] = None,
) -> None:
    """Find the songs and write the song CSV (labels already in it are kept)."""
    from tunetag.library.scan import scan as run_scan

    with _step():
        paths.output_file(output)
        report = run_scan(music_dir, output, label_from_folder=label_from_folder)
    typer.echo(
        f"{output}: {len(report.table)} songs ({report.added} new, {report.kept} kept, "
        f"{report.missing} whose files are gone)"
    )


@app.command(cls=PlainHelp, short_help="Label songs in a local web page.")
def label(
    csv_path: Annotated[Path, typer.Argument(help="Song CSV to label (from tunetag scan).")],
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--task",
            help="Label column, or column=class,class to offer classes [default: mood, genre].",
        ),
    ] = None,
    multi_label: Annotated[
        list[str] | None,
        typer.Option("--multi-label", help="A column where a song may have several labels."),
    ] = None,
    order: Annotated[
        Literal["teach", "file", "shuffle", "uncertain"] | None,
        typer.Option(
            show_default=False,
            help="Unlabelled songs in teach (what the live model learns most from), file, "
            "shuffle or uncertain order [default: teach; file with --no-learn].",
        ),
    ] = None,
    run: Annotated[
        Path | None, typer.Option(help="Trained run: show its guesses; order by its doubt.")
    ] = None,
    learn: Annotated[
        bool,
        typer.Option(
            "--learn/--no-learn",
            show_default=False,
            help="Learn as you label: refit after every label, show the live score, keep the "
            "model with K [default: --learn].",
        ),
    ] = True,
    random_seed: Annotated[
        int | None,
        typer.Option(
            "--random-seed",
            help="Seeds --order shuffle and teach: the same seed, the same order [default: 0].",
        ),
    ] = None,
    old_seed: OldSeedOption = None,
    port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, show_default=False, help="Port on 127.0.0.1 [default: a free one]."
        ),
    ] = 0,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page.")] = False,
    cache: CacheOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
) -> None:
    """Listen to each song and label it in a local web page; every label is saved at once."""
    from tunetag.labelapp import label as serve_label_page

    try:
        with _step(workers, dask) as executor:
            paths.input_file(csv_path, "a song CSV")
            serve_label_page(
                csv_path,
                task,
                multi_label=set(multi_label or ()),
                order=order,
                run=run,
                learn=learn,
                seed=_random_seed(random_seed, old_seed, 0),
                port=port,
                open_browser=open_browser,
                cache_dir=cache,
                executor=executor,
            )
    except KeyboardInterrupt:
        pass  # uvicorn passes Ctrl+C on as this, or (racing asyncio's own handler) returns
    typer.echo("stopped; every label given is in the CSV")


@app.command(cls=PlainHelp, short_help="Decode the songs and cache their views.")
def extract(
    csv_path: Annotated[Path, typer.Argument(help="Song CSV.")],
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also write the proposal's 1600x400 images here."),
    ] = None,
    cache: CacheOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    sample_rate: SampleRateOption = AudioConfig.sample_rate,
    window: WindowOption = AudioConfig.window_s,
    n_mels: NMelsOption = MelConfig.n_mels,
    views: ViewsOption = "mel",
    patches: PatchesOption = None,
) -> None:
    """Decode every song and cache its views (a second run does no work)."""
    from tunetag.features.extract import extract as run_extract

    with _step(workers, dask) as executor:
        paths.input_file(csv_path, "a song CSV")
        if png is not None:
            paths.output_folder(png)
        features = _features(sample_rate, window, n_mels, views, patches)
        report = run_extract(
            csv_path,
            features,
            cache_dir=cache,
            png_dir=png,
            executor=executor,
        )
    typer.echo(
        f"{len(report.ok)} songs ready ({report.computed} computed, {report.cached} from the "
        f"cache), {len(report.errors)} skipped"
    )
    if png is not None:
        typer.echo(f"pictures: {', '.join(str(png / view) for view in features.views)}")


@app.command(cls=PlainHelp, short_help="Train a model on the labelled songs.")
def train(
    csv_path: Annotated[Path, typer.Argument(help="Song CSV with label columns.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder to create.")],
    task: Annotated[
        list[str] | None,
        typer.Option(
            "--task",
            help=f"Label column to learn (repeatable) [default: {', '.join(TrainConfig.tasks)}].",
        ),
    ] = None,
    model: Annotated[
        str, typer.Option(help="Model name (see `tunetag models`).")
    ] = TrainConfig.model,
    epochs: Annotated[int, typer.Option(help="Most epochs.")] = TrainConfig.epochs,
    patience: Annotated[
        int, typer.Option(help="Stop after this many epochs without a better validation loss.")
    ] = TrainConfig.patience,
    batch_size: Annotated[
        int | None, typer.Option(help="Batch size [default: the model's].")
    ] = None,
    lr: Annotated[
        float | None, typer.Option("--lr", help="Learning rate [default: the model's].")
    ] = None,
    crop: Annotated[
        float, typer.Option("--crop", help="Seconds per training crop.")
    ] = TrainConfig.crop_s,
    crops_per_song: Annotated[
        int, typer.Option(help="Random crops per training song per epoch.")
    ] = TrainConfig.crops_per_song,
    val_fraction: Annotated[
        float, typer.Option(help="Share of songs held out.")
    ] = TrainConfig.val_fraction,
    folds: Annotated[
        int | None,
        typer.Option(
            help="k-fold cross-validation (artist-grouped); 1: one split [default: the "
            "model's: 5 for auto, fewer for a library of fewer artists; 1 for the others]."
        ),
    ] = None,
    time_budget: Annotated[
        float | None,
        typer.Option(
            "--time-budget",
            metavar="SECONDS",
            help="Most seconds auto spends choosing its model per fit; the candidates not "
            "tried by then are left out [default: no limit].",
        ),
    ] = None,
    gain: Annotated[
        float, typer.Option("--augment-gain", help="Random gain of up to +-this many dB; 0: off.")
    ] = TrainConfig.augment_gain_db,
    time_masks: Annotated[
        int, typer.Option("--time-masks", help="SpecAugment time masks per crop; 0: off.")
    ] = TrainConfig.augment_time_masks,
    freq_masks: Annotated[
        int, typer.Option("--freq-masks", help="SpecAugment row masks per crop; 0: off.")
    ] = TrainConfig.augment_freq_masks,
    mixup: Annotated[
        float, typer.Option("--mixup", help="Mixup Beta(alpha, alpha); 0: off.")
    ] = TrainConfig.mixup_alpha,
    random_seed: Annotated[
        int | None,
        typer.Option(
            "--random-seed",
            help="Seeds the split, the crops, augmentation and the first weights: the same seed, "
            f"the same run [default: {TrainConfig.seed}].",
        ),
    ] = None,
    old_seed: OldSeedOption = None,
    cache: CacheOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
    sample_rate: SampleRateOption = AudioConfig.sample_rate,
    window: WindowOption = AudioConfig.window_s,
    n_mels: NMelsOption = MelConfig.n_mels,
    views: ViewsOption = "mel",
    patches: PatchesOption = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Go on from the checkpoint an interrupted run left in the folder; a new "
            "folder starts from the beginning, and one whose run finished with the same "
            "settings is left as it is (a finished run of other settings is refused).",
        ),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the run already in the folder, finished or interrupted (without "
            "it, such a folder is refused before any work).",
        ),
    ] = False,
) -> None:
    """Train a model on the labelled songs; write the run folder with plots and metrics."""
    from tunetag import models
    from tunetag.evaluation.choice import choice_sentence
    from tunetag.steps.train import train as run_train

    with _step():  # a bad setting is told before a Dask cluster is reached
        if resume and overwrite:
            raise ParameterError("give --resume or --overwrite, not both")
        paths.input_file(csv_path, "a song CSV")
        paths.output_folder(output)
        config = RunConfig(
            features=_features(sample_rate, window, n_mels, views, patches),
            train=TrainConfig(
                model=model,
                tasks=tuple(task or TrainConfig.tasks),
                epochs=epochs,
                patience=patience,
                batch_size=batch_size,
                learning_rate=lr,
                crop_s=crop,
                crops_per_song=crops_per_song,
                val_fraction=val_fraction,
                folds=folds,
                time_budget_s=time_budget,
                augment_gain_db=gain,
                augment_time_masks=time_masks,
                augment_freq_masks=freq_masks,
                mixup_alpha=mixup,
                seed=_random_seed(random_seed, old_seed, TrainConfig.seed),
            ),
        )
        models.run_features(model, config.features)  # features the model would refuse
    with _step(workers, dask) as executor:
        run = run_train(
            csv_path,
            output,
            config,
            cache_dir=cache,
            executor=executor,
            resume=resume,
            overwrite=overwrite,
        )
    from tunetag.runtime.distributed import environment_world

    if not environment_world().writes_files:
        return  # under torchrun, the first process speaks for all
    metrics = run.load_metrics()
    songs, folds = metrics["songs"], metrics["folds"]
    typer.echo(
        f"{run.path}: {songs['used']} songs used, {songs['skipped']} skipped, "
        f"{songs['scored']} scored by a model that never saw them "
        f"({'1 split' if folds == 1 else f'{folds} folds'})"
    )
    selection = (metrics.get("selection") or {}).get("model", {})
    for name, found in metrics["tasks"].items():
        _echo_task(name, found, indent="  ")
        if name in selection:
            typer.echo(f"    chosen: {choice_sentence(selection[name])}")
    typer.echo(f"  report: {run.path / 'report.html'} (curves, confusion matrices, scores)")


@app.command(cls=PlainHelp, short_help="Score a run on a labelled CSV.")
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="Run folder.")],
    csv_path: Annotated[Path, typer.Argument(help="Labelled song CSV.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Folder for metrics and plots [default: RUN_DIR/eval-NAME for NAME.csv].",
        ),
    ] = None,
    cache: CacheOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
) -> None:
    """Score a trained run on a labelled CSV: metrics and a confusion matrix per task."""
    from tunetag.steps.evaluate import default_out_dir
    from tunetag.steps.evaluate import evaluate as run_evaluate

    output = output or default_out_dir(run_dir, csv_path)
    with _step(workers, dask) as executor:
        paths.input_file(csv_path, "a song CSV")
        paths.output_folder(output)
        metrics = run_evaluate(run_dir, csv_path, output, cache_dir=cache, executor=executor)
    for name, found in metrics["tasks"].items():
        _echo_task(name, found)
    learned = metrics["songs_the_model_learned"]
    if learned:
        typer.echo(
            f"warning: the run's model was trained on {learned} of these songs: "
            "these scores flatter it (score songs it never saw)",
            err=True,
        )
    typer.echo(f"written to {output} (metrics.json, confusion matrices)")


@app.command(cls=PlainHelp, short_help="Classify songs with a trained run.")
def predict(
    run_dir: Annotated[Path, typer.Argument(help="Run folder.")],
    inputs: Annotated[list[Path], typer.Argument(help="Audio files, folders or song CSVs.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Predictions CSV to write.")
    ] = Path("predictions.csv"),
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also say which seconds made each call: a <task>_why column, and the "
            "pushes of every 3 s in <output stem>.why.json for the report's strips.",
        ),
    ] = False,
    cache: CacheOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
) -> None:
    """Classify songs with a trained run; write a CSV of classes and probabilities."""
    from tunetag.steps.predict import predict as run_predict

    with _step(workers, dask) as executor:
        paths.output_file(output)
        result = run_predict(
            run_dir, inputs, output, cache_dir=cache, executor=executor, explain=explain
        )
    typer.echo(f"{output}: {result.scored} songs classified, {len(result.errors)} skipped")


@app.command(
    "tagger-scores", cls=PlainHelp, short_help="Score songs with a pretrained tagger's tags."
)
def tagger_scores(
    inputs: Annotated[list[Path], typer.Argument(help="Audio files, folders or song CSVs.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Tag scores CSV to write.")] = Path(
        "tags.csv"
    ),
    tagger: Annotated[
        str,
        typer.Option(
            "--tagger",
            help="Pretrained tagger: MSD_musicnn, MTT_musicnn, MSD_vgg or MTT_vgg "
            "(MSD: Million Song Dataset tags; MTT: MagnaTagATune).",
        ),
    ] = DEFAULT_TAGGER,
    cache: CacheOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
) -> None:
    """Score songs with a pretrained tagger's own 50 tags (no labels needed); write a CSV."""
    from tunetag.pretrained.scores import tagger_scores as run_tagger_scores

    with _step(workers, dask) as executor:
        paths.output_file(output)
        result = run_tagger_scores(
            inputs, output, tagger=tagger, cache_dir=cache, executor=executor
        )
    typer.echo(
        f"{output}: {len(result.paths)} songs tagged by {tagger}, {len(result.errors)} skipped"
    )


# The name before 0.2, hidden from --help, kept one release so scripts have time to change.
app.command(
    "tags", cls=PlainHelp, hidden=True, help="Old name of tagger-scores, kept for one release."
)(tagger_scores)


@app.command(cls=PlainHelp, short_help="Write predictions into the songs' tags.")
def tag(
    predictions_csv: Annotated[
        Path | None, typer.Argument(help="Predictions CSV (tunetag predict).")
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the tags (else a dry run).")
    ] = False,
    genre: Annotated[
        bool, typer.Option("--genre", help="Also write the genre field (yours is kept without).")
    ] = False,
    min_prob: Annotated[
        float,
        typer.Option(
            "--min-prob", min=0.0, max=1.0, help="Leave predictions less probable than this."
        ),
    ] = 0.0,
    log: Annotated[
        Path | None, typer.Option("--log", help="Undo log to write [default: beside the CSV].")
    ] = None,
    undo: Annotated[
        Path | None, typer.Option("--undo", help="Restore every file an undo log lists.")
    ] = None,
) -> None:
    """Show (dry run) or --write each song's predictions into its tags; --undo takes them out."""
    from tunetag.library.tagging import tag as tag_files
    from tunetag.library.tagging import undo_tags

    with _step():
        if predictions_csv is None and undo is None:
            raise ParameterError("give a predictions CSV to tag, or --undo LOG")
        if predictions_csv is not None and undo is not None:
            raise ParameterError("give a predictions CSV to tag, or --undo LOG, not both")
        if undo is not None:
            undo_tags(paths.input_file(undo, "an undo log"))
        else:
            paths.input_file(predictions_csv, "a predictions CSV")
            if log is not None:
                paths.output_file(log)
            tag_files(predictions_csv, write=write, genre=genre, min_prob=min_prob, undo_log=log)


LibraryOption = Annotated[
    Path | None,
    typer.Option("--library", help="Song CSV or folder of music to search."),
]
SimilarRunOption = Annotated[
    Path | None,
    typer.Option(
        "--run",
        help="Place songs by this run's layer that knows your classes [default: the "
        "pretrained taggers' embedding].",
    ),
]
PerArtistOption = Annotated[
    int | None,
    typer.Option("--per-artist", min=1, help="At most this many songs of one artist [default: 2]."),
]


@app.command(cls=PlainHelp, short_help="Find the songs of a library most like some songs.")
def similar(
    songs: Annotated[list[Path], typer.Argument(help="Seed songs (audio files).")],
    library: LibraryOption = None,
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="Songs to list.")] = 20,
    run: SimilarRunOption = None,
    per_artist: PerArtistOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="CSV of path,distance to write.")
    ] = None,
    cache: CacheOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
) -> None:
    """List the library's songs nearest the seeds together, nearest first (cosine distance)."""
    from tunetag.steps.similar import PER_ARTIST
    from tunetag.steps.similar import similar as find_similar

    with _step(workers, dask) as executor:
        if library is None:
            raise ParameterError("give the library to search with --library")
        if output is not None:
            paths.output_file(output)
        found = find_similar(
            songs, library, n=count, run=run, per_artist=per_artist or PER_ARTIST,
            output=output, cache_dir=cache, executor=executor,
        )  # fmt: skip
    if output is None:
        for song, distance in zip(found.songs, found.distances, strict=True):
            typer.echo(f"{distance:.4f}  {song.path}")
    typer.echo(
        f"{output or 'listed'}: {len(found.songs)} of {found.compared} songs, "
        f"{len(found.errors)} skipped",
        err=output is None,
    )


@app.command(cls=PlainHelp, short_help="Write M3U8 playlists: per class, like songs, a path.")
def playlists(
    predictions_csv: Annotated[
        Path | None, typer.Argument(help="Predictions CSV (tunetag predict).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Folder of playlists; with --like or --path the playlist file "
            "[default: playlists, like.m3u8, path.m3u8].",
        ),
    ] = None,
    min_prob: Annotated[
        float,
        typer.Option(
            "--min-prob", min=0.0, max=1.0, help="Leave out songs less probable than this."
        ),
    ] = 0.0,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="At most this many songs per playlist [default: all; 20 with --like, --path].",
        ),
    ] = None,
    task: Annotated[
        list[str] | None, typer.Option("--task", help="Only this task [default: every task].")
    ] = None,
    like: Annotated[
        list[Path] | None,
        typer.Option(
            "--like", metavar="SONG", help="A song to find more like (repeatable); needs --library."
        ),
    ] = None,
    unlike: Annotated[
        list[Path] | None,
        typer.Option(
            "--unlike", metavar="SONG", help="With --like: a song to keep away from (repeatable)."
        ),
    ] = None,
    path: Annotated[
        tuple[Path, Path] | None,
        typer.Option("--path", help="Walk from song A to song B in small steps.", metavar="A B"),
    ] = None,
    library: LibraryOption = None,
    run: SimilarRunOption = None,
    per_artist: PerArtistOption = None,
    cache: CacheOption = None,
    workers: WorkersOption = None,
    dask: DaskOption = None,
) -> None:
    """Write an M3U8 playlist per task and class, most probable songs first; or, with
    --library, one of songs like --like songs (away from --unlike ones), or a --path."""
    if like or path:
        predictions_only = {"a predictions CSV": predictions_csv, "--task": task}
        _similar_playlist(
            output, like or [], unlike or [], path, library, limit, run, per_artist, cache,
            workers, dask, {**predictions_only, "--min-prob": min_prob},
        )  # fmt: skip
        return
    from tunetag.library.playlists import playlists as write_playlists

    output = output or Path("playlists")
    with _step():
        if predictions_csv is None:
            raise ParameterError("give a predictions CSV, or --like or --path with --library")
        like_options = {"--unlike": unlike, "--library": library, "--run": run}
        for option, given in {**like_options, "--per-artist": per_artist}.items():
            if given:
                raise ParameterError(f"{option} goes with --like or --path")
        paths.input_file(predictions_csv, "a predictions CSV")
        paths.output_folder(output)
        written = write_playlists(
            predictions_csv, output, min_prob=min_prob, limit=limit, tasks=task
        )
    typer.echo(f"{output}: {len(written)} playlists")


def _similar_playlist(
    output: Path | None, like: list[Path], unlike: list[Path], path: tuple[Path, Path] | None,
    library: Path | None, limit: int | None, run: Path | None, per_artist: int | None,
    cache: Path | None, workers: int | None, dask: str | None, predictions_only: dict,
) -> None:  # fmt: skip
    """`tunetag playlists --like/--path`: one playlist from the library, written;
    ``predictions_only`` are the settings of the per-class playlists, refused if given."""
    from tunetag.steps.similar import PER_ARTIST, SONGS, like_playlist, path_playlist

    with _step(workers, dask) as executor:
        for given, value in predictions_only.items():
            if value:
                raise ParameterError(
                    f"{given} goes with the per-class playlists, not --like or --path"
                )
        if like and path:
            raise ParameterError("give --like or --path, not both")
        if unlike and not like:
            raise ParameterError("--unlike goes with --like")
        if library is None:
            raise ParameterError("give the library to search with --library")
        output = output or Path("like.m3u8" if like else "path.m3u8")
        paths.output_file(output)
        options = {
            "n": limit or SONGS, "run": run, "per_artist": per_artist or PER_ARTIST,
            "cache_dir": cache, "executor": executor,
        }  # fmt: skip
        if like:
            found = like_playlist(like, library, output, unlike=unlike, **options)
        else:
            found = path_playlist(path[0], path[1], library, output, **options)
    typer.echo(
        f"{output}: {len(found.songs)} songs found of {found.compared}, {len(found.errors)} skipped"
    )


@app.command(cls=PlainHelp, short_help="Compare runs' metrics: a table and a plot.")
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Run folders to set side by side.")],
    plot: Annotated[Path, typer.Option("--plot", help="Where to draw the comparison.")] = Path(
        "compare.png"
    ),
) -> None:
    """One table of every run's metrics per task (mean +- std over folds), and a plot."""
    from tunetag.evaluation.compare import compare as run_compare
    from tunetag.evaluation.compare import format_comparison

    with _step():
        paths.output_file(plot)
        rows = run_compare(runs, plot)
    typer.echo(format_comparison(rows))
    typer.echo(f"plot: {plot}")


@app.command(cls=PlainHelp, short_help="Write an HTML report of a run or a library.")
def report(
    path: Annotated[Path, typer.Argument(help="Run folder, or predictions CSV.")],
    tags: Annotated[
        Path | None,
        typer.Option(
            "--tags",
            help="Tags CSV (tunetag tagger-scores) of the run's songs: show the pretrained "
            "tagger's zero-shot baseline beside the run.",
        ),
    ] = None,
    tag_for: Annotated[
        list[str] | None,
        typer.Option(
            "--tag-for",
            help="CLASS=TAG: the tag standing for a class of another name (calm=Mellow); "
            "repeatable. Other classes match the tag of their own name.",
        ),
    ] = None,
    cache: CacheOption = None,
) -> None:
    """Write an HTML report: a run's scores, plots and songs to hear, or a library's balance."""
    from tunetag.evaluation.report import report as write_report

    with _step():
        if tags is not None:
            paths.input_file(tags, "a tags CSV")
        page = write_report(path, tags, _class_tags(tag_for or []), cache)
    typer.echo(str(page))


def _class_tags(pairs: list[str]) -> dict[str, str]:
    """``CLASS=TAG`` options as a mapping; a pair without ``=`` is a `ParameterError`."""
    mapping = {}
    for pair in pairs:
        label, sep, tag = pair.partition("=")
        if not (sep and label.strip() and tag.strip()):
            raise ParameterError(f"--tag-for {pair!r}: write CLASS=TAG, e.g. calm=Mellow")
        mapping[label.strip()] = tag.strip()
    return mapping


@app.command("cache", cls=PlainHelp, short_help="Show and evict what the feature cache holds.")
def cache_command(
    cache: CacheOption = None,
    evict: Annotated[
        list[str] | None,
        typer.Option(
            "--evict",
            metavar="VIEW",
            help="Delete every cached array of this view (repeatable), e.g. mel once no run "
            "reads it; computed again if asked for.",
        ),
    ] = None,
    keep_run: Annotated[
        list[Path] | None,
        typer.Option(
            "--keep-run",
            metavar="RUN",
            help="Evict every view that none of these run folders reads (repeatable).",
        ),
    ] = None,
) -> None:
    """Show what the feature cache holds per view, and evict views no run reads."""
    from tunetag.config import default_cache_dir
    from tunetag.features.cache_usage import cache_usage, evict_views

    root = cache or default_cache_dir()
    with _step():
        views = list(evict or [])
        if keep_run:
            from tunetag.runs.folder import RunFolder

            kept = {  # the views each model reads, fewer than its run's where it chose
                view for run in keep_run for view in RunFolder(run).load_for_scoring()[1].views
            }
            views += [u.view for u in cache_usage(root) if u.view not in kept]
        for usage in evict_views(root, views):
            typer.echo(f"evicted {usage.view}: {usage.files} songs, {usage.bytes / 1e6:.1f} MB")
    usages = cache_usage(root)
    for usage in usages:
        per_song = usage.bytes / max(usage.files, 1) / 1e3
        typer.echo(
            f"{usage.view:22s} {usage.files:7d} songs {usage.bytes / 1e6:10.1f} MB "
            f"({per_song:.0f} kB a song)"
        )
    total = sum(usage.bytes for usage in usages)
    typer.echo(f"{root}: {total / 1e6:.1f} MB in {len(usages)} views")


@app.command("models", cls=PlainHelp, short_help="List the models `train --model` accepts.")
def list_models() -> None:
    """List the models `train --model` accepts, each in the first sentence of its docstring;
    the default is marked, and so is a model too slow to train on a CPU."""
    from tunetag import models

    for name in models.available():
        cls = models.model_class(name)
        first = (cls.__doc__ or "").strip().split("\n\n")[0]
        marks = ["the default"] if name == TrainConfig.model else []
        marks += [cls.cpu_note] if hasattr(cls, "cpu_note") else []
        line = f"{name:18s} {' '.join(first.replace('``', '').split())}"
        typer.echo(f"{line} [{'; '.join(marks)}]" if marks else line)
