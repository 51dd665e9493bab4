"""The song CSV: strict reading, atomic writing, paths, labels and split groups."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tunetag.errors import LabelFileError, ParameterError
from tunetag.library import COLUMNS, SongTable


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")


def table_with(tmp_path: Path, column: str, cells: list[str]) -> SongTable:
    table = SongTable.new(tmp_path / "songs.csv")
    for number, cell in enumerate(cells):
        table.rows.append({**dict.fromkeys(COLUMNS, ""), "path": f"{number}.mp3", column: cell})
    return table


# Reading: every malformed file is one LabelFileError naming the file and the reason.


def test_missing_file(tmp_path):
    with pytest.raises(LabelFileError, match=r"songs\.csv: file not found"):
        SongTable.read(tmp_path / "songs.csv")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(LabelFileError, match="cannot read"):
        SongTable.read(tmp_path)


def test_not_utf8(tmp_path):
    csv_path = write_csv(tmp_path / "songs.csv", "path,mood\ncafé.mp3,mellow\n", "latin-1")
    with pytest.raises(LabelFileError, match=r"songs\.csv: not UTF-8"):
        SongTable.read(csv_path, check_files=False)


def test_empty_file(tmp_path):
    csv_path = write_csv(tmp_path / "songs.csv", "")
    with pytest.raises(LabelFileError, match="empty file"):
        SongTable.read(csv_path)


def test_no_path_column(tmp_path):
    csv_path = write_csv(tmp_path / "songs.csv", "file,mood\na.mp3,mellow\n")
    with pytest.raises(LabelFileError, match=r"no 'path' column \(line 1 has: file, mood\)"):
        SongTable.read(csv_path)


def test_duplicate_column(tmp_path):
    csv_path = write_csv(tmp_path / "songs.csv", "path,mood,mood\n")
    with pytest.raises(LabelFileError, match="column 'mood' appears twice"):
        SongTable.read(csv_path)


def test_duplicate_row_compares_normalised_paths(tmp_path):
    csv_path = write_csv(
        tmp_path / "songs.csv", "path,mood\nsub/a.mp3,mellow\nb.mp3,\n./sub/../sub/a.mp3,\n"
    )
    with pytest.raises(
        LabelFileError, match=r"line 4: './sub/../sub/a.mp3' is listed twice \(first on line 2\)"
    ):
        SongTable.read(csv_path, check_files=False)


def test_absolute_path_duplicating_relative_one(tmp_path):
    absolute = (tmp_path / "a.mp3").as_posix()
    csv_path = write_csv(tmp_path / "songs.csv", f"path\na.mp3\n{absolute}\n")
    with pytest.raises(LabelFileError, match="line 3: .* listed twice"):
        SongTable.read(csv_path, check_files=False)


def test_empty_path_cell(tmp_path):
    csv_path = write_csv(tmp_path / "songs.csv", "path,mood\na.mp3,mellow\n  ,mellow\n")
    with pytest.raises(LabelFileError, match=r"songs\.csv: line 3: empty 'path' cell"):
        SongTable.read(csv_path, check_files=False)


def test_too_many_cells(tmp_path):
    csv_path = write_csv(tmp_path / "songs.csv", "path,mood\na.mp3,mellow,oops\n")
    with pytest.raises(LabelFileError, match="line 2: 3 cells but the header names 2 columns"):
        SongTable.read(csv_path, check_files=False)


def test_missing_audio_files_are_listed(tmp_path):
    touch(tmp_path, "here.mp3")
    names = [f"gone{number}.mp3" for number in range(7)]
    csv_path = write_csv(tmp_path / "songs.csv", "path\nhere.mp3\n" + "\n".join(names) + "\n")
    with pytest.raises(LabelFileError) as error:
        SongTable.read(csv_path)
    message = str(error.value)
    assert "\n" not in message
    assert "7 song file(s) not found" in message
    assert "'gone4.mp3'" in message and "'gone5.mp3'" not in message
    assert "here.mp3" not in message
    assert len(SongTable.read(csv_path, check_files=False)) == 8


def test_lenient_where_nothing_is_lost(tmp_path):
    """A BOM, blank lines, all-empty rows, short rows and empty trailing cells are fine."""
    touch(tmp_path, "a.mp3", "b.mp3")
    text = '\ufeffpath, mood ,notes\n\na.mp3,mellow,"x, ""y"""\n,,\nb.mp3\n'
    table = SongTable.read(write_csv(tmp_path / "songs.csv", text))
    assert table.columns == ["path", "mood", "notes"]
    assert table.rows == [
        {"path": "a.mp3", "mood": "mellow", "notes": 'x, "y"'},
        {"path": "b.mp3", "mood": "", "notes": ""},
    ]
    trailing = write_csv(tmp_path / "trailing.csv", "path,mood\na.mp3,mellow,,\n")
    assert SongTable.read(trailing).rows == [{"path": "a.mp3", "mood": "mellow"}]


# Writing.


def test_round_trip_keeps_extra_columns(tmp_path):
    touch(tmp_path, "music/a.mp3", "music/b.mp3")
    csv_path = tmp_path / "songs.csv"
    table = SongTable.new(csv_path, columns=(*COLUMNS, "energy", "notes"))
    for name, notes in [("a", 'comma, "quote"\nand a new line'), ("b", "ünïcödé")]:
        row = dict.fromkeys(table.columns, "")
        row.update(path=f"music/{name}.mp3", mood="mellow", energy="high", notes=notes)
        table.rows.append(row)
    assert table.write() == csv_path
    again = SongTable.read(csv_path)
    assert again.columns == [*COLUMNS, "energy", "notes"]
    assert again.rows == table.rows
    assert csv_path.read_text(encoding="utf-8").startswith(",".join(again.columns))


def test_write_elsewhere_rebases_relative_paths(tmp_path):
    touch(tmp_path, "music/a.mp3")
    table = SongTable.new(tmp_path / "songs.csv", columns=("path", "mood"))
    table.rows.append({"path": "music/a.mp3", "mood": "mellow"})
    copy_path = table.write(tmp_path / "backup" / "copy.csv")
    copy = SongTable.read(copy_path)
    assert copy.rows == [{"path": "../music/a.mp3", "mood": "mellow"}]
    assert copy.audio_path(copy.rows[0]) == table.audio_path(table.rows[0])
    assert table.rows[0]["path"] == "music/a.mp3"


def test_failed_write_leaves_old_file_intact(tmp_path, monkeypatch):
    csv_path = write_csv(tmp_path / "songs.csv", "path,mood\na.mp3,mellow\n")
    table = SongTable.read(csv_path, check_files=False)
    table.rows[0]["mood"] = "not mellow"

    def refuse(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        table.write()
    assert csv_path.read_text(encoding="utf-8") == "path,mood\na.mp3,mellow\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["songs.csv"]


def test_new_needs_path_column(tmp_path):
    assert SongTable.new(tmp_path / "s.csv").columns == list(COLUMNS)
    with pytest.raises(ParameterError, match="'path' column"):
        SongTable.new(tmp_path / "s.csv", columns=("artist", "mood"))


# Paths.


def test_audio_path_and_relative_path(tmp_path):
    table = SongTable.new(tmp_path / "lib" / "songs.csv")
    assert table.audio_path({"path": "a/b.mp3"}) == tmp_path / "lib" / "a" / "b.mp3"
    assert table.audio_path({"path": "../x.mp3"}) == tmp_path / "x.mp3"
    absolute = (tmp_path / "elsewhere" / "c.mp3").as_posix()
    assert table.audio_path({"path": absolute}) == Path(absolute)
    assert table.relative_path(tmp_path / "lib" / "a" / "b.mp3") == "a/b.mp3"
    assert table.relative_path(tmp_path / "other" / "c.mp3") == "../other/c.mp3"


def test_relative_path_from_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = SongTable.new("songs.csv")
    assert table.relative_path(Path("music") / "a.mp3") == "music/a.mp3"
    assert table.audio_path({"path": "music/a.mp3"}) == tmp_path / "music" / "a.mp3"


# Labels and groups.


def test_labels_skip_empty_cells_and_strip(tmp_path):
    table = table_with(tmp_path, "mood", ["mellow", "", "  ", " not mellow ", "mellow "])
    assert table.labels("mood") == {0: "mellow", 3: "not mellow", 4: "mellow"}
    assert table.classes("mood") == ["mellow", "not mellow"]


def test_labels_missing_column_lists_columns(tmp_path):
    table = table_with(tmp_path, "mood", ["a", "b"])
    with pytest.raises(LabelFileError, match=r"no label column 'energy' \(columns: path, artist"):
        table.labels("energy")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Mellow", "mellow "),
        ("not mellow", "not  mellow"),
        ("not mellow", "notmellow"),
        ("Rock", "ROCK"),
    ],
)
def test_labels_spelled_two_ways(tmp_path, first, second):
    table = table_with(tmp_path, "mood", [first, "other", second])
    with pytest.raises(LabelFileError) as error:
        table.labels("mood")
    assert f"{first!r} (0.mp3) and {second!r} (2.mp3)" in str(error.value)
    with pytest.raises(LabelFileError):
        table.classes("mood")


@pytest.mark.parametrize(
    ("cells", "found"),
    [(["mellow", "mellow", ""], "1 ['mellow'] among 2 labelled songs"), (["", ""], "0 [] among 0")],
)
def test_labels_need_two_classes(tmp_path, cells, found):
    table = table_with(tmp_path, "mood", cells)
    with pytest.raises(LabelFileError, match="needs at least two classes") as error:
        table.labels("mood")
    assert found in str(error.value)


def test_groups_keep_unknown_artists_apart(tmp_path):
    table = table_with(tmp_path, "artist", ["The Band", "", "the  band ", "", "Other"])
    groups = table.groups()
    assert groups[0] == groups[2]
    assert len({groups[1], groups[3], groups[0], groups[4]}) == 4
    assert table.groups("album") == [f"__song__:{n}.mp3" for n in range(5)]
    with pytest.raises(LabelFileError, match="no column 'label' to group songs by"):
        table.groups("label")


def test_len_and_iteration(tmp_path):
    table = table_with(tmp_path, "mood", ["a", "b", "c"])
    assert len(table) == 3
    assert [row["mood"] for row in table] == ["a", "b", "c"]


def test_multi_label_cells_split_on_semicolons(tmp_path):
    table = table_with(tmp_path, "mood", ["mellow; sad", "happy", "", "sad;;mellow;sad"])
    assert table.is_multilabel("mood")
    assert table.label_sets("mood") == {
        0: ("mellow", "sad"),
        1: ("happy",),
        3: ("sad", "mellow"),
    }
    assert table.classes("mood") == ["happy", "mellow", "sad"]
    with pytest.raises(LabelFileError, match="several labels in one cell.*multi-label"):
        table.labels("mood")


def test_single_label_column_is_not_multi_label(tmp_path):
    table = table_with(tmp_path, "mood", ["mellow", "loud"])
    assert not table.is_multilabel("mood")
    assert table.label_sets("mood") == {0: ("mellow",), 1: ("loud",)}


def test_a_label_inside_a_multi_label_cell_spelled_two_ways(tmp_path):
    table = table_with(tmp_path, "mood", ["Sad;mellow", "sad"])
    with pytest.raises(LabelFileError, match="spells one label two ways"):
        table.label_sets("mood")
