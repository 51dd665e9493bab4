"""Reading and writing tag fields, format by format, without ever half-writing a file."""

from __future__ import annotations

import os

import mutagen
import numpy as np
import pytest
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4FreeForm
from tagged_songs import FORMATS, HAS_MP3, make_song

from tunetag.audio.decode import decode
from tunetag.errors import ParameterError, TagWriteError
from tunetag.library.fields import check_writable, read_fields, write_fields
from tunetag.library.metadata import read_metadata

FIELDS = ("mood", "genre", "TUNETAG_MOOD_P", "TUNETAG_RUN")


@pytest.mark.parametrize("kind", FORMATS)
def test_each_format_gets_its_own_fields_and_keeps_its_audio(tmp_path, kind):
    path = make_song(tmp_path, kind)
    audio_before = decode(path, 22050)
    assert read_fields(path, FIELDS) == {
        "mood": None,
        "genre": None if kind == "wav" else "Jazz",
        "TUNETAG_MOOD_P": None,
        "TUNETAG_RUN": None,
    }

    write_fields(path, {"mood": "mellow", "TUNETAG_MOOD_P": "0.9123", "TUNETAG_RUN": "mood@ab"})

    assert read_fields(path, FIELDS) == {
        "mood": "mellow",
        "genre": None if kind == "wav" else "Jazz",
        "TUNETAG_MOOD_P": "0.9123",
        "TUNETAG_RUN": "mood@ab",
    }
    raw = mutagen.File(path).tags
    if kind in ("mp3-v23", "mp3-v24", "wav"):
        version = (2, 3, 0) if kind == "mp3-v23" else (2, 4, 0)
        assert raw.version == version
        mood_key, other_key = ("TXXX:MOOD", "TMOO") if kind == "mp3-v23" else ("TMOO", "TXXX:MOOD")
        assert raw[mood_key].text == ["mellow"] and other_key not in raw
        assert raw["TXXX:TUNETAG_MOOD_P"].text == ["0.9123"]
        assert raw["TXXX:TUNETAG_RUN"].text == ["mood@ab"]
    elif kind == "m4a":
        assert raw["----:com.apple.iTunes:MOOD"] == [MP4FreeForm(b"mellow")]
        assert raw["----:com.apple.iTunes:TUNETAG_MOOD_P"] == [MP4FreeForm(b"0.9123")]
        assert raw["\xa9gen"] == ["Jazz"]
    else:
        assert ("MOOD", "mellow") in list(raw)  # the Vorbis comment, spelt as the standard has it
        assert ("TUNETAG_MOOD_P", "0.9123") in list(raw)
    assert read_metadata(path)["mood"] == "mellow"
    assert read_metadata(path)["title"] == ("" if kind == "wav" else "Tone")
    assert np.array_equal(decode(path, 22050), audio_before)


@pytest.mark.parametrize("kind", FORMATS)
def test_none_removes_a_field_and_several_values_round_trip(tmp_path, kind):
    path = make_song(tmp_path, kind)
    write_fields(path, {"genre": "Rock\0Pop", "TUNETAG_RUN": "r1"})
    expected = "Rock/Pop" if kind == "mp3-v23" else "Rock\0Pop"  # v2.3 joins values with "/"
    assert read_fields(path, ["genre", "TUNETAG_RUN"]) == {"genre": expected, "TUNETAG_RUN": "r1"}
    write_fields(path, {"genre": None, "TUNETAG_RUN": None})
    assert read_fields(path, ["genre", "TUNETAG_RUN"]) == {"genre": None, "TUNETAG_RUN": None}
    assert read_metadata(path)["title"] == ("" if kind == "wav" else "Tone")


def test_a_file_without_id3_gets_v24(tmp_path):
    path = make_song(tmp_path, "wav")
    assert mutagen.File(path).tags is None
    write_fields(path, {"mood": "calm"})
    tags = mutagen.File(path).tags
    assert tags.version == (2, 4, 0)
    assert tags["TMOO"].text == ["calm"]


def test_read_only_file_is_refused_even_for_root(tmp_path):
    path = make_song(tmp_path, "flac")
    path.chmod(0o444)
    content = path.read_bytes()
    with pytest.raises(TagWriteError, match="read-only file; not changed"):
        write_fields(path, {"mood": "mellow"})
    assert path.read_bytes() == content
    assert read_fields(path, ["mood"]) == {"mood": None}  # reading is fine
    assert sorted(tmp_path.iterdir()) == [path]


def test_missing_and_unsupported_files_name_the_file(tmp_path):
    gone = tmp_path / "gone.flac"
    with pytest.raises(TagWriteError, match=f"^{gone}: file not found$"):
        read_fields(gone, ["mood"])
    with pytest.raises(TagWriteError, match=f"^{gone}: file not found$"):
        write_fields(gone, {"mood": "x"})
    text = tmp_path / "notes.txt"
    text.write_text("not audio\n" * 10)
    with pytest.raises(TagWriteError, match=f"^{text}: not an audio format"):
        write_fields(text, {"mood": "x"})
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC" + b"\xff" * 60)
    with pytest.raises(TagWriteError, match=f"^{broken}: cannot read its tags"):
        read_fields(broken, ["mood"])
    assert broken.read_bytes() == b"fLaC" + b"\xff" * 60


def test_field_names_are_checked():
    with pytest.raises(ParameterError, match="unknown tag fields"):
        read_fields("whatever.flac", ["MOOD"])
    with pytest.raises(ParameterError, match="unknown tag fields"):
        write_fields("whatever.flac", {"tunetag_x": "1"})


@pytest.mark.parametrize(
    ("kind", "audio_class"),
    [
        pytest.param("mp3-v23", MP3, marks=pytest.mark.skipif(not HAS_MP3, reason="no MP3")),
        ("flac", FLAC),
        ("m4a", MP4),
    ],
)
def test_a_crash_while_saving_leaves_the_original_whole(tmp_path, monkeypatch, kind, audio_class):
    path = make_song(tmp_path, kind)
    content = path.read_bytes()

    def crash(self, *args, **kwargs):
        with open(self.filename, "r+b") as handle:  # half a file, then the failure
            handle.truncate(len(content) // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audio_class, "save", crash)
    with pytest.raises(TagWriteError, match="tags not written \\(No space left on device\\)"):
        write_fields(path, {"mood": "mellow"})
    assert path.read_bytes() == content
    assert sorted(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_permissions_owner_and_links_are_kept(tmp_path):
    path = make_song(tmp_path, "flac")
    path.chmod(0o640)
    owner = (path.stat().st_uid, path.stat().st_gid)
    link = tmp_path / "link.flac"
    link.symlink_to(path.name)
    write_fields(link, {"mood": "mellow"})
    assert link.is_symlink() and os.readlink(link) == path.name
    assert read_fields(path, ["mood"]) == {"mood": "mellow"}
    assert path.stat().st_mode & 0o7777 == 0o640
    assert (path.stat().st_uid, path.stat().st_gid) == owner
    assert check_writable(link) == path.resolve()


@pytest.mark.parametrize(
    "name", ["Sigur Rós – Hoppípolla.flac", "two  spaces .ogg", "ünïcödé 日本.m4a", "-dash.flac"]
)
def test_odd_file_names(tmp_path, name):
    path = make_song(tmp_path, name.rsplit(".", 1)[1], name=name)
    write_fields(path, {"mood": "Glück", "TUNETAG_RUN": "r"})
    assert read_fields(path, ["mood", "TUNETAG_RUN"]) == {"mood": "Glück", "TUNETAG_RUN": "r"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
