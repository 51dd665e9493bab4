"""The CLI reports a person's mistakes in one line and exits 1, without a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from tunetag.cli import app

runner = CliRunner()


def test_train_on_a_csv_without_the_task_column_fails_cleanly(tmp_path, write_audio):
    write_audio("a.wav")
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,artist\na.wav,x\n", encoding="utf-8")
    before = csv_path.read_bytes()
    result = runner.invoke(app, ["train", str(csv_path), "-o", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "mood" in result.output
    assert csv_path.read_bytes() == before
    assert not (tmp_path / "run").exists()


def test_unknown_model_is_named_with_the_known_ones(tmp_path, write_audio):
    write_audio("a.wav")
    write_audio("b.wav")
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,artist,mood\na.wav,x,mellow\nb.wav,y,loud\n", encoding="utf-8")
    result = runner.invoke(
        app, ["train", str(csv_path), "-o", str(tmp_path / "run"), "--model", "nope"]
    )
    assert result.exit_code == 1
    assert "nope" in result.output and "shortchunk" in result.output


def test_predict_with_a_folder_that_is_not_a_run(tmp_path, write_audio):
    song = write_audio("a.wav")
    result = runner.invoke(app, ["predict", str(tmp_path), str(song)])
    assert result.exit_code == 1
    assert "not a run folder" in result.output


def test_models_lists_seed_and_shortchunk():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    assert "seed" in result.output and "shortchunk" in result.output


def test_label_in_uncertain_order_without_a_run_says_what_it_needs(tmp_path, write_audio):
    write_audio("a.wav")
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,artist,mood\na.wav,x,\n", encoding="utf-8")
    before = csv_path.read_bytes()
    result = runner.invoke(app, ["label", str(csv_path), "--order", "uncertain"])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "--run" in result.output
    assert csv_path.read_bytes() == before


def test_label_a_csv_that_does_not_exist(tmp_path):
    result = runner.invoke(app, ["label", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert "nope.csv: file not found" in result.output


def test_label_a_task_named_path_is_refused(tmp_path, write_audio):
    write_audio("a.wav")
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,artist,mood\na.wav,x,\n", encoding="utf-8")
    result = runner.invoke(app, ["label", str(csv_path), "--task", "path"])
    assert result.exit_code == 1
    assert "--task" in result.output
