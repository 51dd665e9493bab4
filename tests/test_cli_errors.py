"""A person's mistakes, class by class, through the real command: each is refused before any
work, in one line that names the option or path as they typed it, never a traceback.

The tests walk every command's options (typer's own table of them), so a new option or
command joins its class without a new test; one the tables below do not know fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from commands import run_tunetag
from typer.main import get_command
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.errors import ParameterError
from tunetag.labelapp import label

runner = CliRunner()
COMMANDS = get_command(app).commands

# The fewest arguments each command needs before an option is added: paths that do not
# exist, so a check that ran after the work had started would fail on them instead.
BASE_ARGS = {
    "scan": ["music", "-o", "songs.csv"],
    "label": ["songs.csv"],
    "extract": ["songs.csv"],
    "train": ["songs.csv", "-o", "run"],
    "evaluate": ["run", "songs.csv"],
    "predict": ["run", "a.wav"],
    "tagger-scores": ["a.wav"],
    "tags": ["a.wav"],
    "tag": ["predictions.csv"],
    "playlists": ["predictions.csv"],
    "similar": ["a.wav", "--library", "songs.csv"],
    "compare": ["run"],
    "report": ["run"],
    "cache": [],
    "models": [],
}
ANY_NUMBER = {"--random-seed", "--seed"}  # every integer seeds the random generators
TOO_LARGE = [("label", "--port", "70000"), ("train", "--val-fraction", "1.5")]
TOO_LARGE += [(command, "--min-prob", "2") for command in ("tag", "playlists")]
# Each output option and what it writes; paths.output_file or paths.output_folder checks it.
OUTPUTS = {
    ("scan", "--output"): "file",
    ("train", "--output"): "folder",
    ("evaluate", "--output"): "folder",
    ("predict", "--output"): "file",
    ("tagger-scores", "--output"): "file",
    ("tags", "--output"): "file",
    ("tag", "--log"): "file",
    ("playlists", "--output"): "folder",
    ("similar", "--output"): "file",
    ("compare", "--plot"): "file",
    ("extract", "--png"): "folder",
}


def _params(kind):
    """(command, parameter) for every parameter of every command that ``kind`` accepts."""
    return [
        pytest.param(name, param, id=f"{name} {param.opts[-1]}")
        for name, command in COMMANDS.items()
        for param in command.params
        if kind(name, param)
    ]


def _invoke(name: str, param, value: str):
    """The command with ``param`` given ``value`` (an argument in its place in BASE_ARGS)."""
    assert name in BASE_ARGS, f"add the command {name!r} to BASE_ARGS"
    base = list(BASE_ARGS[name])
    if param.param_type_name == "argument":
        arguments = [p for p in COMMANDS[name].params if p.param_type_name == "argument"]
        base[arguments.index(param)] = value
        return runner.invoke(app, [name, *base])
    return runner.invoke(app, [name, *base, param.opts[-1], value])


def _refused(result, *words: str) -> None:
    """A one-line refusal naming ``words``: no traceback, a non-zero exit."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:], result.output  # one line, the last, after any progress
    for word in words:
        assert word in result.output, result.output


def _numeric(name, param) -> bool:
    return (
        param.param_type_name == "option"
        and param.bare_type() in ("int", "float")
        and not param.hidden
        and param.opts[-1] not in ANY_NUMBER
    )


@pytest.mark.parametrize(("name", "param"), _params(_numeric))
def test_every_numeric_option_given_a_negative_value_names_that_option(
    tmp_path, monkeypatch, name, param
):
    monkeypatch.chdir(tmp_path)
    _refused(_invoke(name, param, "-1"), param.opts[-1])
    assert list(tmp_path.iterdir()) == []  # nothing written, not even an empty run folder


@pytest.mark.parametrize(("name", "option", "value"), TOO_LARGE)
def test_a_number_over_its_range_names_the_option(tmp_path, monkeypatch, name, option, value):
    monkeypatch.chdir(tmp_path)
    _refused(runner.invoke(app, [name, *BASE_ARGS[name], option, value]), option)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--window", "-5"], "--window"),
        (["--n-mels", "0"], "--n-mels"),
        (["--epochs", "0"], "--epochs"),
        (["--crop", "0"], "--crop"),
        (["--task", "mood", "--task", "mood"], "--task"),
    ],
)
def test_train_names_the_option_typed_not_the_setting(tmp_path, monkeypatch, args, option):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", "songs.csv", "-o", "run", *args])
    _refused(result, f"error: {option} ")
    assert result.exit_code == 1
    for field in ("window_s", "n_fft", "crop_s", "crops_per_song", "tasks"):
        assert field not in result.output


def test_an_unknown_order_names_the_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refused(runner.invoke(app, ["label", "songs.csv", "--order", "nope"]), "--order")


def _output(name, param) -> bool:
    found = param.param_type_name == "option" and bool(
        {"--output", "--plot", "--png", "--log"} & set(param.opts)
    )
    assert not found or (name, param.opts[-1]) in OUTPUTS, f"add {name} {param.opts} to OUTPUTS"
    return found


def _unwritable(tmp_path: Path) -> list[Path]:
    """Paths no file can be written at: under a file, and (where there is one) under /proc."""
    (tmp_path / "a-file").write_text("x")
    return [tmp_path / "a-file" / "x"] + ([Path("/proc/x")] if Path("/proc").is_dir() else [])


@pytest.mark.parametrize(("name", "param"), _params(_output))
def test_every_output_that_cannot_be_written_is_refused_first(tmp_path, monkeypatch, name, param):
    monkeypatch.chdir(tmp_path)
    for path in _unwritable(tmp_path):
        result = _invoke(name, param, str(path))
        _refused(result, f"error: {path}: cannot write")
        assert result.exit_code == 1
    (tmp_path / "a-folder").mkdir()
    wrong_kind = "a-folder" if OUTPUTS[name, param.opts[-1]] == "file" else "a-file"
    _refused(_invoke(name, param, wrong_kind), f"error: {wrong_kind}: a f")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"]


def _csv_input(name, param) -> bool:
    help_text = (param.help or "").lower()
    is_output = any((name, opt) in OUTPUTS for opt in param.opts)
    return "csv" in help_text and "folder" not in help_text and not is_output


@pytest.mark.parametrize(("name", "param"), _params(_csv_input))
def test_a_folder_where_a_csv_belongs_is_named(tmp_path, monkeypatch, name, param):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "music").mkdir()
    result = _invoke(name, param, "music")
    _refused(result, "error: music: a folder, not a")
    assert result.exit_code == 1


def test_an_undo_log_that_is_a_folder_is_named(tmp_path):
    result = runner.invoke(app, ["tag", "--undo", str(tmp_path)])
    _refused(result, f"error: {tmp_path}: a folder, not an undo log")


def _run_input(name, param) -> bool:
    help_text = (param.help or "").lower()
    is_output = any((name, opt) in OUTPUTS for opt in param.opts)
    return ("run folder" in help_text or "trained run" in help_text) and not is_output


@pytest.mark.parametrize(("name", "param"), _params(_run_input))
def test_a_run_folder_that_does_not_exist_is_no_such_run_folder(tmp_path, monkeypatch, name, param):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "songs.csv").write_text("path,artist,mood\n", encoding="utf-8")
    (tmp_path / "a.wav").write_bytes(b"")
    result = _invoke(name, param, "nope")
    _refused(result, "error: nope: no such run folder")
    assert result.exit_code == 1


def test_tag_without_a_csv_or_a_log_asks_for_one_of_them():
    result = runner.invoke(app, ["tag"])
    _refused(result, "give a predictions CSV to tag, or --undo LOG")
    assert "not both" not in result.output


def test_tag_on_an_audio_file_says_it_is_not_a_predictions_csv(small_library):
    song = next((small_library / "music").rglob("*.wav"))
    _refused(runner.invoke(app, ["tag", str(song)]), "not a predictions CSV")


def test_a_port_out_of_range_is_refused_before_the_page_starts(small_library):
    done = run_tunetag("label", small_library / "songs.csv", "--port", "70000", timeout=60)
    assert done.returncode != 0 and "--port" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(ParameterError, match="port must be 0"):
        label(small_library / "songs.csv", port=-1)


def test_scan_of_a_folder_without_audio_writes_no_csv(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no music here")
    out = tmp_path / "songs.csv"
    result = runner.invoke(app, ["scan", str(tmp_path / "empty"), "-o", str(out)])
    _refused(result, "no audio files found")
    assert result.exit_code == 1 and not out.exists()


def test_predict_into_a_folder_is_refused_before_any_song_is_read(
    logreg_run, small_library, tmp_path, private_feature_cache
):
    result = runner.invoke(
        app, ["predict", str(logreg_run.path), str(small_library / "music"), "-o", str(tmp_path)]
    )
    _refused(result, "a folder; give the name of a file")
    assert not any(private_feature_cache.rglob("*.npy"))  # no song was extracted


def _train(small_library: Path, out: Path, *args: str):
    csv_path = small_library / "songs.csv"
    return runner.invoke(app, ["train", str(csv_path), "-o", str(out), "--model", "logreg", *args])


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_a_run_is_never_replaced_or_restarted_unasked(small_library, tmp_path):
    out = tmp_path / "run"
    assert _train(small_library, out).exit_code == 0
    finished = _files(out)

    _refused(_train(small_library, out), "holds a finished run", "--overwrite")
    _refused(_train(small_library, out, "--random-seed", "3", "--resume"), "other settings")
    _refused(_train(small_library, out, "--resume", "--overwrite"), "not both")
    assert _files(out) == finished

    same = _train(small_library, out, "--resume")  # a finished run: nothing to resume
    assert same.exit_code == 0 and "nothing to resume" in same.output
    assert _files(out) == finished

    (out / "checkpoint.pt").write_bytes(b"an interrupted run's")
    _refused(_train(small_library, out), "interrupted run", "--resume")
    assert (out / "checkpoint.pt").read_bytes() == b"an interrupted run's"

    assert _train(small_library, out, "--random-seed", "3", "--overwrite").exit_code == 0
    assert not (out / "checkpoint.pt").exists()
    assert '"seed": 3' in (out / "config.json").read_text()


def test_folds_beyond_the_artists_speak_of_artists(small_library, tmp_path):
    result = _train(small_library, tmp_path / "run", "--folds", "20")
    _refused(result, "20 folds need songs of at least 20 artists")
    assert not (tmp_path / "run").exists()
