"""The audio fingerprint: the same for a file whatever its tags, another for other audio."""

from __future__ import annotations

import shutil

import pytest
from library.tagged_songs import FORMATS, make_song

from tunetag.audio.fingerprint import audio_fingerprint
from tunetag.errors import AudioDecodeError
from tunetag.library.fields import write_fields


@pytest.mark.parametrize("kind", FORMATS)
def test_writing_tags_keeps_the_fingerprint(tmp_path, kind):
    song = make_song(tmp_path, kind)
    before, bytes_before = audio_fingerprint(song), song.read_bytes()
    # long values make every format move its audio (Ogg pages, MP4 atoms, ID3 padding)
    write_fields(song, {"mood": "tense " * 2000, "TUNETAG_RUN": "run " * 2000})
    assert song.read_bytes() != bytes_before
    assert audio_fingerprint(song) == before


def test_a_copy_elsewhere_has_the_same_fingerprint(tmp_path, write_audio):
    song = write_audio("song.ogg", duration_s=1.0)
    copy = tmp_path / "elsewhere" / "renamed.ogg"
    copy.parent.mkdir()
    shutil.copy(song, copy)
    assert audio_fingerprint(copy) == audio_fingerprint(song)


@pytest.mark.parametrize(
    "other",
    [
        {"freq_hz": 450.0},  # other samples
        {"sr": 44100},  # the same tone at another rate
        {"channels": 2},  # the same tone in two channels
    ],
)
def test_other_audio_has_another_fingerprint(tmp_path, write_audio, other):
    song = write_audio("song.flac", duration_s=1.0)
    changed = write_audio("changed.flac", duration_s=1.0, **other)
    assert audio_fingerprint(changed) != audio_fingerprint(song)


def test_a_file_that_is_not_audio_is_named_in_the_error(tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all\n")
    with pytest.raises(AudioDecodeError, match=r"notes\.mp3: not a readable audio file"):
        audio_fingerprint(text)
