"""The beets plugin (``plugins: tunetag``): label, train, predict and tag from ``beet``.

A thin adapter over tunetag's Python API, as the ``tunetag`` command is: a beets query
selects the songs, tunetag does the work, beets keeps the results as flexible attributes
(``mood``, ``mood_probability``) and, with ``--write``, writes them into the files through
its own MediaFile path, under the tag fields ``tunetag tag`` uses. ``beet tunetag-playlists``
is ``tunetag playlists --like`` seeded by a query. tunetag is imported inside the commands
only, so ``beet ls`` does not pay for it.

Configuration (``tunetag:`` in beets' config.yaml), every key optional:

- ``run``: the run folder ``beet tunetag`` predicts with and ``beet tunetag-train`` writes
  (default: ``tunetag-run`` beside the library database).
- ``csv``: the song CSV ``beet tunetag-label`` labels (default: ``tunetag-songs.csv`` beside
  the library database).
- ``tasks``: the tasks whose ``<task>_probability`` is a number in queries (default: mood).
- ``model``: what ``beet tunetag-train`` trains (default: auto).
"""

from __future__ import annotations

import os
from pathlib import Path

import beets
from beets import ui
from beets.dbcore import types
from beets.library import FileOperationError
from beets.plugins import BeetsPlugin

PROBABILITY_SUFFIX = "_probability"  # <task>_probability: how sure the predicted class is
SONG_COLUMNS = ("path", "artist", "title", "album", "genre", "duration_s")


class TunetagPlugin(BeetsPlugin):
    """``beet tunetag``, ``tunetag-train``, ``tunetag-label`` and ``tunetag-playlists``."""

    def __init__(self) -> None:
        super().__init__()
        self.config.add({"run": "", "csv": "", "tasks": ["mood"], "model": "auto"})

    @property
    def item_types(self) -> dict[str, types.Type]:
        """Each configured task's probability is a float, so ``mood_probability:0.8..``
        is a range and not a substring."""
        tasks = self.config["tasks"].as_str_seq()
        return {task + PROBABILITY_SUFFIX: types.NullFloat(4) for task in tasks}

    def commands(self) -> list[ui.Subcommand]:
        predict = ui.Subcommand("tunetag", help="predict the items with a tunetag run")
        predict.parser.add_option("--run", help="run folder [default: tunetag.run in config]")
        predict.parser.add_option(
            "-w", "--write", action="store_true", help="also write the tags into the files"
        )
        predict.parser.add_option(
            "-p", "--pretend", action="store_true", help="show what would change; change nothing"
        )
        predict.parser.add_option(
            "-f",
            "--force",
            action="store_true",
            help="replace the labels a person gave too (a task without its probability)",
        )
        predict.func = self._predict

        train = ui.Subcommand("tunetag-train", help="train a tunetag run on the items")
        train.parser.add_option(
            "--task", action="append", help="attribute to learn (repeatable) [default: mood]"
        )
        train.parser.add_option("-o", "--out", help="run folder [default: tunetag.run]")
        train.parser.add_option("--model", help="tunetag model [default: tunetag.model]")
        train.parser.add_option(
            "--overwrite", action="store_true", help="replace a run already in the folder"
        )
        train.func = self._train

        label = ui.Subcommand("tunetag-label", help="label the items in tunetag's page")
        label.parser.add_option(
            "--task",
            action="append",
            help="attribute, or attribute=class,class (repeatable) [default: mood]",
        )
        label.parser.add_option("--csv", help="song CSV [default: tunetag.csv]")
        label.parser.add_option("--port", type="int", default=0, help="port on 127.0.0.1")
        label.parser.add_option(
            "--no-learn", action="store_true", help="no live model while labelling"
        )
        label.parser.add_option(
            "--import-labels",
            action="store_true",
            help="only copy the CSV's labels into the items' attributes",
        )
        label.func = self._label

        like = ui.Subcommand(
            "tunetag-playlists", help="a playlist of the items and the songs most like them"
        )
        like.parser.add_option("-o", "--output", default="like.m3u8", help="the M3U8 file")
        like.parser.add_option("-n", type="int", default=20, help="songs added [default: 20]")
        like.parser.add_option("--run", help="search a run's layer [default: the tagger's]")
        like.parser.add_option(
            "--within", default="", help="beets query of the songs to pick from [default: all]"
        )
        like.func = self._like
        return [predict, train, label, like]

    # beet tunetag

    def _predict(self, lib, opts, args) -> None:
        from tunetag.errors import TunetagError
        from tunetag.library.fields import check_writable
        from tunetag.runs.classify import classify_songs, predicted_probability
        from tunetag.runs.folder import RunFolder

        items = list(lib.items(args))
        if not items:
            raise ui.UserError("no items match the query")
        run = opts.run or self._path("run", lib, "tunetag-run")
        by_path = {item.filepath: item for item in items}
        try:
            _check_not_beets_fields([task.name for task in RunFolder(run).load_tasks()])
            songs = classify_songs(run, list(by_path))
        except TunetagError as exc:
            raise ui.UserError(str(exc)) from exc
        # tunetag has told each song it could not read (error: PATH: reason, on stderr)
        if opts.write and not opts.pretend:
            self._add_media_fields([task.name for task in songs.tasks])
        classes = {task.name: songs.predicted(task) for task in songs.tasks}
        changed = failed = kept = 0
        for i, path in enumerate(songs.paths):
            item = by_path[path]
            new = {}
            for task in songs.tasks:
                if _is_label(item, task.name) and not opts.force:
                    kept += 1
                    continue
                new[task.name] = classes[task.name][i]
                p = predicted_probability(task, songs.probabilities[task.name][i])
                new[task.name + PROBABILITY_SUFFIX] = None if p is None else round(p, 4)
            change = {k: (item.get(k), v) for k, v in new.items() if item.get(k) != v}
            if change:
                changed += 1
                told = (f"{k} {_shown(a)} -> {_shown(b)}" for k, (a, b) in change.items())
                ui.print_(f"{path}: " + ", ".join(told))
            if opts.pretend or not (change or opts.write):
                continue
            for key, value in new.items():
                if value is None:
                    if key in item:
                        del item[key]
                else:
                    item[key] = value
            if opts.write:
                try:
                    check_writable(path)
                    item.write()
                except (TunetagError, FileOperationError) as exc:
                    failed += 1
                    ui.print_(f"error: {path}: {_reason(exc, path)}")
            item.store()
        verb = "would change" if opts.pretend else "changed"
        written = ""
        if opts.write and not opts.pretend:
            written = f", {len(songs.paths) - failed} files written"
        ui.print_(
            f"{len(songs.paths)} items predicted, {verb} {changed}, {kept} labels kept{written}, "
            f"{len(songs.errors) + failed} errors"
        )

    @staticmethod
    def _add_media_fields(tasks: list[str]) -> None:
        """Let beets' MediaFile write each task and its probability, under the fields
        ``tunetag tag`` writes (``mood``: ID3 TMOO, Vorbis MOOD, MP4 MOOD; any other task
        ``TUNETAG_<TASK>``; the probability ``TUNETAG_<TASK>_P``). Added for this command
        only: registered for every ``beet``, ``beet update`` would read the fields back
        over the database's values from files that never had them."""
        import mediafile
        from beets import library

        from tunetag.library.tagging import probability_field, task_field

        for task in tasks:
            field = task_field(task)
            named = {task: field if field != "mood" else "MOOD"}
            named[task + PROBABILITY_SUFFIX] = probability_field(task)
            for name, key in named.items():
                if name in library.Item._media_fields:
                    continue
                # ID3 v2.3 has no TMOO: tunetag writes TXXX:MOOD there, as beets may be told to
                v24_mood = key == "MOOD" and not beets.config["id3v23"].get(bool)
                styles = [
                    mediafile.MP3StorageStyle("TMOO")
                    if v24_mood
                    else mediafile.MP3DescStorageStyle(key),
                    mediafile.MP4StorageStyle("----:com.apple.iTunes:" + key),
                    mediafile.StorageStyle(key),
                    mediafile.ASFStorageStyle("WM/" + key),
                ]
                probability = name.endswith(PROBABILITY_SUFFIX)
                for style in styles:
                    style.float_places = 4
                media = mediafile.MediaField(*styles, out_type=float if probability else str)
                mediafile.MediaFile.add_field(name, media)
                library.Item._media_fields.add(name)

    # beet tunetag-train

    def _train(self, lib, opts, args) -> None:
        import tunetag
        from tunetag.config import RunConfig, TrainConfig
        from tunetag.runs.folder import RunFolder
        from tunetag.steps.train import finished_before

        tasks = opts.task or ["mood"]
        out = Path(opts.out or self._path("run", lib, "tunetag-run"))
        model = opts.model or self.config["model"].as_str()
        config = RunConfig(train=TrainConfig(model=model, tasks=tuple(tasks)))
        try:  # a run already there is refused before its song CSV is written again
            finished_before(RunFolder(out), config, resume=False, overwrite=opts.overwrite)
        except tunetag.TunetagError as exc:
            raise ui.UserError(str(exc)) from exc
        items = [item for item in lib.items(args) if any(_is_label(item, t) for t in tasks)]
        if not items:
            raise ui.UserError(f"no items of the query are labelled {' or '.join(tasks)}")
        csv_path = out.with_name(out.name + "-songs.csv")
        self._write_song_table(csv_path, items, tasks, keep=False)
        try:
            run = tunetag.train(csv_path, out, config, overwrite=opts.overwrite)
        except tunetag.TunetagError as exc:
            raise ui.UserError(str(exc)) from exc
        ui.print_(f"trained {model} on {len(items)} items ({csv_path}): {run.path}")

    def _write_song_table(self, csv_path: Path, items, tasks: list[str], keep: bool = True):
        """Write the items as a song CSV (`tunetag.library.songtable`) and return it. With
        ``keep`` the rows already there stay, with their labels unless beets holds one (the
        labelling page's work), read and written under the CSV's lock as ``tunetag scan``
        does; without, the CSV holds the items alone (what a run trains on). A missing file
        is told and left out."""
        from tunetag.files.lock import locked
        from tunetag.library.songtable import SongTable, path_key

        columns = (*SONG_COLUMNS, *[t for t in tasks if t not in SONG_COLUMNS])
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with locked(csv_path):
            if keep and csv_path.exists():
                table = SongTable.read(csv_path, check_files=False)
                table.columns += [c for c in columns if c not in table.columns]
            else:
                table = SongTable.new(csv_path, columns)
            rows = {path_key(table.audio_path(row)): row for row in table.rows}
            for item in items:
                if not item.filepath.exists():
                    ui.print_(f"error: {item.filepath}: file not found")
                    continue
                row = rows.get(path_key(item.filepath))
                if row is None:
                    row = rows[path_key(item.filepath)] = {}
                    table.rows.append(row)
                row.update(
                    path=table.relative_path(item.filepath),
                    artist=item.artist,
                    title=item.title,
                    album=item.album,
                    genre=", ".join(item.get("genres") or []),
                    duration_s=f"{item.length:.2f}",
                )
                row.update({task: str(item[task]) for task in tasks if _is_label(item, task)})
            for row in table.rows:
                for column in table.columns:
                    row.setdefault(column, "")
            table.write()
        return table

    # beet tunetag-label

    def _label(self, lib, opts, args) -> None:
        import tunetag

        specs = opts.task or ["mood"]
        tasks = [spec.split("=", 1)[0].strip() for spec in specs]
        csv_path = Path(opts.csv or self._path("csv", lib, "tunetag-songs.csv"))
        items = list(lib.items(args))
        if not items:
            raise ui.UserError("no items match the query")
        if not opts.import_labels:
            self._write_song_table(csv_path, items, tasks)
            try:
                tunetag.label(csv_path, specs, learn=not opts.no_learn, port=opts.port)
            except tunetag.TunetagError as exc:
                raise ui.UserError(str(exc)) from exc
            except KeyboardInterrupt:
                pass
        self._import_labels(csv_path, items, tasks)

    @staticmethod
    def _import_labels(csv_path: Path, items, tasks: list[str]) -> None:
        """Copy the CSV's labels of the items into their attributes (a label the CSV does
        not hold leaves the attribute as it is)."""
        import tunetag
        from tunetag.library.songtable import SongTable, path_key

        try:
            table = SongTable.read(csv_path, check_files=False)
        except tunetag.TunetagError as exc:
            raise ui.UserError(str(exc)) from exc
        labels = {path_key(table.audio_path(row)): row for row in table.rows}
        changed = 0
        for item in items:
            row = labels.get(path_key(item.filepath), {})
            new = {t: row[t] for t in tasks if row.get(t) and not _is_label(item, t, row[t])}
            if new:
                item.update(new)
                for task in new:  # a person's label now, no longer a prediction
                    if task + PROBABILITY_SUFFIX in item:
                        del item[task + PROBABILITY_SUFFIX]
                item.store()
                changed += 1
        ui.print_(f"labels of {changed} items copied from {csv_path}")

    # beet tunetag-playlists

    def _like(self, lib, opts, args) -> None:
        """More like these: tunetag's `like_playlist` with the items as liked seeds, the
        library the ``--within`` items, written to a song CSV for the search."""
        import tempfile

        import tunetag

        liked = list(lib.items(args))
        if not liked:
            raise ui.UserError("no items match the query")
        within = list(lib.items(opts.within))
        if not within:
            raise ui.UserError(f"no items match --within {opts.within!r}")
        listed = {item.filepath for item in within}
        with tempfile.TemporaryDirectory(prefix="tunetag-beets-") as folder:
            # its missing files told here: a seed among them is not told twice
            table = self._write_song_table(Path(folder) / "library.csv", within, [], keep=False)
            seeds = []
            for item in liked:
                if item.filepath.is_file():
                    seeds.append(item.filepath)
                elif item.filepath not in listed:
                    ui.print_(f"error: {item.filepath}: file not found")
            if not seeds:
                raise ui.UserError("none of the items' files is there")
            try:
                found = tunetag.like_playlist(
                    seeds,
                    table.csv_path,
                    opts.output,
                    n=opts.n,
                    run=opts.run,
                )
            except tunetag.TunetagError as exc:
                raise ui.UserError(str(exc)) from exc
        ui.print_(f"{opts.output}: {len(seeds)} items and {len(found.songs)} songs like them")

    def _path(self, key: str, lib, default_name: str) -> str:
        """A configured path, else ``default_name`` beside the library database."""
        configured = self.config[key].as_str()
        if configured:
            return os.path.expanduser(configured)
        return str(Path(os.fsdecode(lib.path)).parent / default_name)


def _is_label(item, task: str, value: str | None = None) -> bool:
    """Whether the item's ``task`` attribute is a person's label (``value``, if given):
    set, and without the ``<task>_probability`` every prediction stores beside it. Labels
    are what a run trains on and what a prediction leaves alone."""
    held = item.get(task)
    if not held or item.get(task + PROBABILITY_SUFFIX) is not None:
        return False
    return value is None or str(held) == value


def _check_not_beets_fields(tasks: list[str]) -> None:
    """Refuse a task whose attribute would land on one of beets' own fields (``bpm``,
    ``genre``, ...): beets would coerce the class to the field's type, or write it over the
    file's own tag, before anything is stored."""
    import mediafile
    from beets.library import Item

    names = [name for task in tasks for name in (task, task + PROBABILITY_SUFFIX)]
    taken = [n for n in names if n in Item._fields or n in mediafile.MediaFile.fields()]
    if taken:
        raise ui.UserError(
            f"the run's task {taken[0]!r} is a field of beets' own; "
            "train under another name (a song CSV column)"
        )


def _shown(value) -> str:
    return "''" if value is None else repr(value)


def _reason(exc: BaseException, path: Path) -> str:
    """The reason alone, without the path the caller's line already names."""
    if isinstance(exc, FileOperationError):
        return str(exc.reason)
    return str(exc).removeprefix(f"{path}: ")
