"""The label store: every change saved to the song CSV at once, others' edits kept, undo."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from tunetag.errors import LabelFileError, ParameterError
from tunetag.labelapp.store import MAX_LABEL_CHARS, LabelStore, clean_label, parse_task
from tunetag.library.songtable import COLUMNS, SongTable


def make_csv(tmp_path: Path, moods: list[str], extra: dict[str, list[str]] | None = None) -> Path:
    """A song CSV as `tunetag scan` writes it: one row per mood cell, files need not exist."""
    extra = extra or {}
    table = SongTable.new(tmp_path / "songs.csv", (*COLUMNS, *extra))
    for number, mood in enumerate(moods):
        row = dict.fromkeys(table.columns, "")
        row.update(path=f"music/{number:02d} song.flac", artist=f"Artist {number}", mood=mood)
        row["title"] = f"Title, {number}"  # a comma: the cell is quoted in the file
        for column, cells in extra.items():
            row[column] = cells[number]
        table.rows.append(row)
    return table.write()


def cells(csv_path: Path, column: str) -> list[str]:
    """One column of the CSV as it is on disk, read with the csv module."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def rewrite_elsewhere(csv_path: Path, edit) -> None:
    """Change the CSV as another program would."""
    table = SongTable.read(csv_path, check_files=False)
    edit(table)
    table.write()


# --- parse_task and clean_label ---------------------------------------------------------


def test_parse_task_reads_a_bare_column_name():
    assert parse_task("mood") == ("mood", [])
    assert parse_task("  energy ") == ("energy", [])


def test_parse_task_reads_offered_classes_stripped_without_empty_ones():
    assert parse_task(" mood = mellow, not mellow ,, ") == ("mood", ["mellow", "not mellow"])


@pytest.mark.parametrize("spec", ["", "  ", "=mellow", "path", "path=a,b"])
def test_parse_task_refuses_a_missing_or_reserved_column(spec):
    with pytest.raises(ParameterError, match="--task"):
        parse_task(spec)


def test_parse_task_refuses_a_class_that_cannot_be_a_label():
    with pytest.raises(ParameterError, match="';'"):
        parse_task("mood=mellow;sad,happy")


def test_clean_label_strips_and_keeps_any_printable_text():
    assert clean_label("  not mellow \n") == "not mellow"
    assert clean_label("Café ☕ (live)") == "Café ☕ (live)"
    assert clean_label("x" * MAX_LABEL_CHARS) == "x" * MAX_LABEL_CHARS


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("  \t ", "empty"),
        ("mellow;sad", "';'"),
        (";", "';'"),
        ("mel\tlow", "control"),
        ("mel\nlow", "control"),
        ("mel\x00low", "control"),
        ("mel\x1blow", "control"),
        ("x" * (MAX_LABEL_CHARS + 1), "at most"),
    ],
)
def test_clean_label_refuses_what_cannot_be_one_cell(text, reason):
    with pytest.raises(ParameterError, match=reason):
        clean_label(text)


# --- opening ----------------------------------------------------------------------------


def test_a_store_needs_one_task_at_least_and_each_once(tmp_path):
    csv_path = make_csv(tmp_path, ["", ""])
    with pytest.raises(ParameterError):
        LabelStore(csv_path, [])
    with pytest.raises(ParameterError, match="each task once"):
        LabelStore(csv_path, [("mood", []), ("mood", ["a"])])


def test_a_missing_csv_is_a_label_file_error(tmp_path):
    with pytest.raises(LabelFileError, match="file not found"):
        LabelStore(tmp_path / "nope.csv", [("mood", [])])


def test_songs_are_numbered_by_row_and_their_files_found_beside_the_csv(tmp_path):
    csv_path = make_csv(tmp_path, ["mellow", ""])
    store = LabelStore(csv_path, [("mood", [])])
    assert len(store) == 2
    assert store.audio_path(1) == (tmp_path / "music" / "01 song.flac").absolute()
    assert store.row(0)["title"] == "Title, 0"
    assert store.labels(0) == {"mood": ["mellow"]} and store.labels(1) == {"mood": []}


def test_offered_classes_come_first_then_the_csv_s_own_sorted(tmp_path):
    csv_path = make_csv(tmp_path, ["sad", "Happy", "", "mellow", "MELLOW"])
    store = LabelStore(csv_path, [("mood", ["mellow", "angry"])])
    assert store.task("mood").classes == ["mellow", "angry", "Happy", "sad"]


# --- set_labels -------------------------------------------------------------------------


def test_a_label_is_in_the_file_as_soon_as_set_labels_returns(tmp_path):
    csv_path = make_csv(tmp_path, ["", "", ""])
    store = LabelStore(csv_path, [("mood", ["mellow", "not mellow"])])

    store.set_labels(1, "mood", ["not mellow"])

    assert cells(csv_path, "mood") == ["", "not mellow", ""]
    assert SongTable.read(csv_path, check_files=False).rows[1]["mood"] == "not mellow"
    assert store.labels(1) == {"mood": ["not mellow"]}
    assert store.can_undo


def test_an_empty_list_clears_the_cell(tmp_path):
    csv_path = make_csv(tmp_path, ["mellow", "sad"])
    store = LabelStore(csv_path, [("mood", [])])
    store.set_labels(0, "mood", [])
    assert cells(csv_path, "mood") == ["", "sad"]


def test_a_label_spelled_like_an_offered_class_is_stored_as_that_class(tmp_path):
    csv_path = make_csv(tmp_path, ["Happy", "", "", ""])
    store = LabelStore(csv_path, [("mood", ["not mellow"])])

    store.set_labels(1, "mood", ["  NOT   Mellow "])
    store.set_labels(2, "mood", ["notmellow"])
    store.set_labels(3, "mood", ["happy"])

    assert cells(csv_path, "mood") == ["Happy", "not mellow", "not mellow", "Happy"]
    assert store.task("mood").classes == ["not mellow", "Happy"]


def test_a_new_class_is_appended_with_the_next_key_of_its_task_s_row(tmp_path):
    csv_path = make_csv(tmp_path, ["", "", ""])
    store = LabelStore(csv_path, [("mood", ["mellow", "not mellow"]), ("energy", ["low"])])
    mood, energy = store.task("mood"), store.task("energy")
    assert mood.keys == {"mellow": "1", "not mellow": "2"}
    assert energy.keys == {"low": "q"}

    store.set_labels(0, "mood", ["sad"])
    store.set_labels(0, "energy", ["high"])

    assert mood.classes == ["mellow", "not mellow", "sad"] and mood.keys["sad"] == "3"
    assert energy.classes == ["low", "high"] and energy.keys["high"] == "w"
    assert cells(csv_path, "energy") == ["high", "", ""]


def test_keys_never_repeat_across_tasks_even_when_a_row_runs_out(tmp_path):
    many = [f"class {k}" for k in range(13)]
    csv_path = make_csv(tmp_path, [""])
    store = LabelStore(csv_path, [("mood", many), ("energy", ["low", "high"]), ("tempo", ["slow"])])

    assert "".join(store.task("mood").keys[c] for c in many[:10]) == "1234567890"
    assert store.task("tempo").keys == {"slow": "a"}
    every_key = [key for task in store.tasks for key in task.keys.values()]
    assert len(every_key) == 16 and len(set(every_key)) == 16
    assert set(store.task("energy").keys.values()) <= set("qwertyuiop")


def test_a_single_label_task_refuses_two_labels_and_leaves_the_file_alone(tmp_path):
    csv_path = make_csv(tmp_path, ["mellow", ""])
    before = csv_path.read_bytes()
    store = LabelStore(csv_path, [("mood", ["mellow", "sad"])])

    with pytest.raises(ParameterError, match="one label"):
        store.set_labels(1, "mood", ["mellow", "sad"])

    assert csv_path.read_bytes() == before
    assert store.labels(1) == {"mood": []} and not store.can_undo


def test_a_multi_label_task_given_as_such_stores_labels_joined_by_semicolons(tmp_path):
    csv_path = make_csv(tmp_path, ["", ""], extra={"tags": ["", ""]})
    store = LabelStore(csv_path, [("tags", ["calm"])], multi_label={"tags"})
    assert store.task("tags").multi_label

    store.set_labels(0, "tags", ["CALM", " vocal "])

    assert cells(csv_path, "tags") == ["calm;vocal", ""]
    assert store.labels(0) == {"tags": ["calm", "vocal"]}
    assert store.task("tags").classes == ["calm", "vocal"]


def test_a_column_with_semicolons_is_multi_label_without_being_told(tmp_path):
    csv_path = make_csv(tmp_path, ["", ""], extra={"tags": ["calm;vocal", ""]})
    store = LabelStore(csv_path, [("tags", []), ("mood", [])])
    assert store.task("tags").multi_label and not store.task("mood").multi_label

    store.set_labels(1, "tags", ["energetic", "vocal"])

    assert cells(csv_path, "tags") == ["calm;vocal", "energetic;vocal"]


def test_one_new_label_typed_twice_in_different_case_is_stored_once(tmp_path):
    """Two spellings of one label in a cell would make the column unreadable for training."""
    csv_path = make_csv(tmp_path, ["", ""], extra={"tags": ["", ""]})
    store = LabelStore(csv_path, [("tags", [])], multi_label={"tags"})

    store.set_labels(0, "tags", ["Calm", "calm"])

    assert cells(csv_path, "tags") == ["Calm", ""]


def test_setting_the_labels_a_song_already_has_changes_nothing(tmp_path):
    csv_path = make_csv(tmp_path, ["mellow", ""])
    before = csv_path.stat().st_mtime_ns, csv_path.read_bytes()
    store = LabelStore(csv_path, [("mood", [])])

    store.set_labels(0, "mood", ["Mellow"])

    assert (csv_path.stat().st_mtime_ns, csv_path.read_bytes()) == before
    assert not store.can_undo


@pytest.mark.parametrize(
    ("song_id", "task", "labels"),
    [(2, "mood", ["a"]), (-1, "mood", ["a"]), ("0", "mood", ["a"]), (0, "genre", ["a"])],
)
def test_an_unknown_song_or_task_is_a_parameter_error(tmp_path, song_id, task, labels):
    csv_path = make_csv(tmp_path, ["", ""])
    before = csv_path.read_bytes()
    store = LabelStore(csv_path, [("mood", [])])
    with pytest.raises(ParameterError):
        store.set_labels(song_id, task, labels)
    assert csv_path.read_bytes() == before


def test_a_bad_label_is_refused_before_anything_is_written(tmp_path):
    csv_path = make_csv(tmp_path, ["", ""])
    before = csv_path.read_bytes()
    store = LabelStore(csv_path, [("mood", [])])
    with pytest.raises(ParameterError, match="control"):
        store.set_labels(0, "mood", ["mellow\x07"])
    assert csv_path.read_bytes() == before and store.task("mood").classes == []


def test_a_missing_task_column_is_added_and_only_that_cell_is_filled(tmp_path):
    csv_path = make_csv(tmp_path, ["mellow", "", "sad"])
    before = csv_path.read_bytes().split(b"\r\n")
    store = LabelStore(csv_path, [("energy", ["low", "high"])])
    assert store.labels(1) == {"energy": []}

    store.set_labels(1, "energy", ["high"])

    after = csv_path.read_bytes().split(b"\r\n")
    assert after[0] == before[0] + b",energy"
    assert after[1] == before[1] + b","
    assert after[2] == before[2] + b",high"
    assert after[3] == before[3] + b","
    assert after[4:] == before[4:] == [b""]


def test_editing_one_cell_leaves_every_other_byte_alone(tmp_path):
    csv_path = make_csv(tmp_path, ["mellow", "", "sad"], extra={"notes": ["a, b", 'say "hi"', ""]})
    before = csv_path.read_bytes()
    store = LabelStore(csv_path, [("mood", [])])

    store.set_labels(1, "mood", ["sad"])

    expected = before.replace(b'Title, 1",,,,', b'Title, 1",,,sad,', 1)
    assert expected != before and csv_path.read_bytes() == expected


def test_a_write_failure_keeps_the_label_neither_in_memory_nor_in_the_file(tmp_path, monkeypatch):
    csv_path = make_csv(tmp_path, ["mellow", ""])
    before = csv_path.read_bytes()
    store = LabelStore(csv_path, [("mood", ["mellow"])])

    def full_disk(self, csv_path=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SongTable, "write", full_disk)
    with pytest.raises(LabelFileError, match="No space left on device"):
        store.set_labels(1, "mood", ["sad"])

    assert store.labels(1) == {"mood": []}
    assert store.row(1)["mood"] == ""
    assert csv_path.read_bytes() == before
    assert store.task("mood").classes == ["mellow"] and not store.can_undo
    assert store.progress()["mood"]["unlabelled"] == 1

    monkeypatch.undo()
    store.set_labels(1, "mood", ["sad"])
    assert cells(csv_path, "mood") == ["mellow", "sad"]


def test_a_write_failure_on_a_new_column_leaves_the_file_alone(tmp_path, monkeypatch):
    csv_path = make_csv(tmp_path, ["mellow", ""])
    before = csv_path.read_bytes()
    store = LabelStore(csv_path, [("energy", [])])

    def read_only(self, csv_path=None):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(SongTable, "write", read_only)
    with pytest.raises(LabelFileError, match="Permission denied"):
        store.set_labels(0, "energy", ["high"])
    assert store.labels(0) == {"energy": []} and csv_path.read_bytes() == before


# --- undo -------------------------------------------------------------------------------


def test_undo_restores_each_previous_cell_in_the_file_and_names_the_song(tmp_path):
    csv_path = make_csv(tmp_path, ["sad", "", ""])
    store = LabelStore(csv_path, [("mood", [])])
    store.set_labels(0, "mood", ["mellow"])
    store.set_labels(2, "mood", ["happy"])
    store.set_labels(2, "mood", ["mellow"])
    assert cells(csv_path, "mood") == ["mellow", "", "mellow"]

    assert store.undo() == 2
    assert cells(csv_path, "mood") == ["mellow", "", "happy"]
    assert store.undo() == 2
    assert cells(csv_path, "mood") == ["mellow", "", ""]
    assert store.undo() == 0
    assert cells(csv_path, "mood") == ["sad", "", ""]
    assert store.labels(0) == {"mood": ["sad"]} and not store.can_undo

    with pytest.raises(ParameterError, match="nothing to undo"):
        store.undo()
    assert cells(csv_path, "mood") == ["sad", "", ""]


def test_undo_on_a_fresh_store_is_a_parameter_error(tmp_path):
    store = LabelStore(make_csv(tmp_path, [""]), [("mood", [])])
    assert not store.can_undo
    with pytest.raises(ParameterError):
        store.undo()


def test_an_undo_that_cannot_be_saved_stays_undoable(tmp_path, monkeypatch):
    csv_path = make_csv(tmp_path, ["", ""])
    store = LabelStore(csv_path, [("mood", [])])
    store.set_labels(0, "mood", ["mellow"])

    def full_disk(self, csv_path=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SongTable, "write", full_disk)
    with pytest.raises(LabelFileError):
        store.undo()
    assert store.can_undo and store.labels(0) == {"mood": ["mellow"]}
    assert cells(csv_path, "mood") == ["mellow", ""]

    monkeypatch.undo()
    assert store.undo() == 0 and cells(csv_path, "mood") == ["", ""]


# --- edits made elsewhere while the store is open ---------------------------------------


def test_an_edit_made_elsewhere_survives_the_next_save(tmp_path):
    csv_path = make_csv(tmp_path, ["", "", ""], extra={"notes": ["", "", ""]})
    store = LabelStore(csv_path, [("mood", [])])

    def edit(table):
        table.rows[2]["mood"] = "angry"
        table.rows[1]["notes"] = "great bridge"

    rewrite_elsewhere(csv_path, edit)
    store.set_labels(0, "mood", ["mellow"])

    assert cells(csv_path, "mood") == ["mellow", "", "angry"]
    assert cells(csv_path, "notes") == ["", "great bridge", ""]
    assert store.labels(2) == {"mood": ["angry"]}
    assert "angry" in store.task("mood").classes


def test_an_edit_elsewhere_of_the_same_size_and_time_on_the_same_inode_survives(tmp_path):
    """Two processes saving in one clock tick can leave every stat field as it was."""
    csv_path = make_csv(tmp_path, ["sad", "", "mellow"])
    store = LabelStore(csv_path, [("mood", [])])
    before = csv_path.stat()
    text = csv_path.read_bytes().replace(b"sad", b"odd")
    with open(csv_path, "r+b") as handle:  # in place: same inode, same size
        handle.write(text)
    os.utime(csv_path, ns=(before.st_atime_ns, before.st_mtime_ns))
    store.set_labels(1, "mood", ["happy"])

    assert cells(csv_path, "mood") == ["odd", "happy", "mellow"]


def test_a_column_and_a_song_added_elsewhere_are_kept(tmp_path):
    csv_path = make_csv(tmp_path, ["", ""])
    store = LabelStore(csv_path, [("mood", [])])

    def edit(table):
        table.columns.append("rating")
        for row in table.rows:
            row["rating"] = "5"
        table.rows.append({**dict.fromkeys(table.columns, ""), "path": "music/new.flac"})

    rewrite_elsewhere(csv_path, edit)
    store.set_labels(1, "mood", ["sad"])

    table = SongTable.read(csv_path, check_files=False)
    assert [row["path"] for row in table.rows] == [
        "music/00 song.flac",
        "music/01 song.flac",
        "music/new.flac",
    ]
    assert [row["rating"] for row in table.rows] == ["5", "5", ""]
    assert [row["mood"] for row in table.rows] == ["", "sad", ""]
    assert len(store) == 2


def test_undo_after_an_edit_elsewhere_keeps_that_edit(tmp_path):
    csv_path = make_csv(tmp_path, ["", ""])
    store = LabelStore(csv_path, [("mood", [])])
    store.set_labels(0, "mood", ["mellow"])
    rewrite_elsewhere(csv_path, lambda table: table.rows[1].update(mood="not mellow"))

    assert store.undo() == 0
    assert cells(csv_path, "mood") == ["", "not mellow"]


def test_a_song_removed_elsewhere_cannot_be_labelled_but_the_others_can(tmp_path):
    csv_path = make_csv(tmp_path, ["", "sad", "mellow"])
    store = LabelStore(csv_path, [("mood", [])])
    rewrite_elsewhere(csv_path, lambda table: table.rows.pop(1))

    with pytest.raises(LabelFileError, match="no longer in the file"):
        store.set_labels(1, "mood", ["happy"])
    store.set_labels(2, "mood", ["happy"])

    table = SongTable.read(csv_path, check_files=False)
    assert [row["path"] for row in table.rows] == ["music/00 song.flac", "music/02 song.flac"]
    assert [row["mood"] for row in table.rows] == ["", "happy"]
    assert store.progress()["mood"]["classes"] == {"sad": 0, "mellow": 0, "happy": 1}
    assert store.progress()["mood"]["unlabelled"] == 1


# --- progress ---------------------------------------------------------------------------


def test_progress_counts_songs_per_class_and_unlabelled_per_task(tmp_path):
    csv_path = make_csv(
        tmp_path,
        ["mellow", "sad", "mellow", "", ""],
        extra={"tags": ["calm;vocal", "vocal", "", "calm", ""]},
    )
    store = LabelStore(csv_path, [("mood", ["mellow", "angry"]), ("tags", [])])

    assert store.progress() == {
        "mood": {"classes": {"mellow": 2, "angry": 0, "sad": 1}, "unlabelled": 2},
        "tags": {"classes": {"calm": 2, "vocal": 2}, "unlabelled": 2},
    }
    assert store.complete_count() == 2
    assert [store.is_complete(i) for i in range(5)] == [True, True, False, False, False]

    store.set_labels(2, "tags", ["vocal"])
    store.set_labels(4, "mood", ["angry"])

    assert store.progress()["mood"] == {
        "classes": {"mellow": 2, "angry": 1, "sad": 1},
        "unlabelled": 1,
    }
    assert store.progress()["tags"]["unlabelled"] == 1
    assert store.complete_count() == 3
