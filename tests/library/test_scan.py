"""Finding audio files and building or updating the song CSV without losing labels."""

from __future__ import annotations

import os

import pytest
from mutagen.flac import FLAC

from tunetag.errors import ParameterError
from tunetag.library import COLUMNS, SongTable, find_audio, scan


@pytest.fixture
def music(tmp_path, write_audio):
    """A small library: two mood folders, a nested album, a loose file and some noise."""
    folder = tmp_path / "Music"
    for name in ("mellow/a.wav", "mellow/album/b.FLAC", "not mellow/c.ogg", "loose.wav"):
        write_audio(name, duration_s=0.5, folder=folder)
    write_audio(".hidden.wav", duration_s=0.5, folder=folder)
    write_audio(".trash/d.wav", duration_s=0.5, folder=folder)
    (folder / "mellow" / "cover.jpg").write_bytes(b"jpeg")
    (folder / "notes.txt").write_text("not audio")
    return folder


def relative(paths, folder):
    return [path.relative_to(folder).as_posix() for path in paths]


def test_find_audio_recursive_sorted_skipping_hidden(music):
    assert relative(find_audio(music), music) == [
        "loose.wav",
        "mellow/a.wav",
        "mellow/album/b.FLAC",
        "not mellow/c.ogg",
    ]


def test_find_audio_survives_symlink_loop(music):
    os.symlink(music, music / "mellow" / "loop")
    found = relative(find_audio(music), music)
    assert len(found) == len(set(found)) == 4


def test_scan_writes_a_new_csv(music, tmp_path):
    tags = FLAC(music / "mellow" / "album" / "b.FLAC")
    tags.update({"TITLE": "Bee", "ARTIST": "Hive", "MOOD": "calm"})
    tags.save()
    csv_path = tmp_path / "songs.csv"
    report = scan(music, csv_path, progress=False)
    assert (report.added, report.kept, report.missing) == (4, 0, 0)
    table = SongTable.read(csv_path)
    assert table.columns == list(COLUMNS)
    assert [row["path"] for row in table] == [
        "Music/loose.wav",
        "Music/mellow/a.wav",
        "Music/mellow/album/b.FLAC",
        "Music/not mellow/c.ogg",
    ]
    assert {row["duration_s"] for row in table} == {"0.500"}
    assert table.rows[2] | {"path": "", "duration_s": ""} == dict.fromkeys(COLUMNS, "") | {
        "title": "Bee",
        "artist": "Hive",
        "mood": "calm",
    }
    assert report.table.rows == table.rows


def test_label_from_folder(music, tmp_path):
    report = scan(music, tmp_path / "songs.csv", label_from_folder="mood", progress=False)
    moods = {row["path"]: row["mood"] for row in SongTable.read(report.table.csv_path)}
    assert moods == {
        "Music/loose.wav": "",
        "Music/mellow/a.wav": "mellow",
        "Music/mellow/album/b.FLAC": "mellow",
        "Music/not mellow/c.ogg": "not mellow",
    }


def test_label_from_folder_creates_column_and_fills_only_empty_cells(music, tmp_path):
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("path,energy\nMusic/mellow/a.wav,high\n", encoding="utf-8")
    scan(music, csv_path, label_from_folder="energy", progress=False)
    scan(music, csv_path, label_from_folder="vibe", progress=False)
    table = SongTable.read(csv_path)
    assert table.columns == [*COLUMNS, "energy", "vibe"]
    energy = {row["path"]: row["energy"] for row in table}
    assert energy["Music/mellow/a.wav"] == "high"
    assert energy["Music/not mellow/c.ogg"] == "not mellow"
    assert {row["vibe"] for row in table} == {"", "mellow", "not mellow"}


def test_folder_label_beats_file_tag_but_not_csv_cell(music, tmp_path):
    tags = FLAC(music / "mellow" / "album" / "b.FLAC")
    tags["MOOD"] = "energetic"
    tags.save()
    report = scan(music, tmp_path / "songs.csv", label_from_folder="mood", progress=False)
    assert report.table.rows[2]["mood"] == "mellow"


def test_rescan_keeps_labels_and_adds_new_songs(music, tmp_path, write_audio):
    csv_path = tmp_path / "songs.csv"
    scan(music, csv_path, progress=False)
    table = SongTable.read(csv_path)
    table.columns.append("notes")
    for row in table:
        row["notes"] = ""
    table.rows[1].update(mood="mellow", title="My title", notes="favourite", duration_s="")
    table.write()
    write_audio("new/e.wav", duration_s=0.5, folder=music)

    report = scan(music, csv_path, label_from_folder="mood", progress=False)

    assert (report.added, report.kept, report.missing) == (1, 4, 0)
    rows = {row["path"]: row for row in SongTable.read(csv_path)}
    assert rows["Music/mellow/a.wav"] | {"duration_s": ""} == {
        **dict.fromkeys(COLUMNS, ""),
        "path": "Music/mellow/a.wav",
        "mood": "mellow",
        "title": "My title",
        "notes": "favourite",
    }
    assert rows["Music/mellow/a.wav"]["duration_s"] == "0.500"
    assert rows["Music/new/e.wav"]["mood"] == "new"
    assert rows["Music/loose.wav"]["mood"] == ""
    assert list(rows) == [row["path"] for row in table] + ["Music/new/e.wav"]


def test_rescan_keeps_rows_whose_files_vanished(music, tmp_path):
    csv_path = tmp_path / "songs.csv"
    scan(music, csv_path, label_from_folder="mood", progress=False)
    (music / "not mellow" / "c.ogg").unlink()
    report = scan(music, csv_path, progress=False)
    assert (report.added, report.kept, report.missing) == (0, 4, 1)
    rows = {row["path"]: row["mood"] for row in SongTable.read(csv_path, check_files=False)}
    assert rows["Music/not mellow/c.ogg"] == "not mellow"
    assert len(rows) == 4


def test_rescan_keeps_user_column_order_after_scan_columns(music, tmp_path):
    csv_path = tmp_path / "songs.csv"
    csv_path.write_text("notes,path,mood\nhi,Music/loose.wav,mellow\n", encoding="utf-8")
    scan(music, csv_path, progress=False)
    table = SongTable.read(csv_path)
    assert table.columns == [*COLUMNS, "notes"]
    assert (table.rows[0]["notes"], table.rows[0]["mood"]) == ("hi", "mellow")


def test_scan_rejects_a_file_as_music_folder(music, tmp_path):
    with pytest.raises(ParameterError, match="loose.wav: not a folder"):
        scan(music / "loose.wav", tmp_path / "songs.csv", progress=False)
    assert not (tmp_path / "songs.csv").exists()


def test_progress_bar_only_when_asked(music, tmp_path, capsys):
    scan(music, tmp_path / "quiet.csv", progress=False)
    assert capsys.readouterr().err == ""
    scan(music, tmp_path / "loud.csv", progress=True)
    assert "4/4" in capsys.readouterr().err
