"""Reading title, artist, album, genre, mood and duration from each tag format."""

from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TALB, TCON, TIT2, TMOO, TPE1
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from tunetag.library import read_metadata

EMPTY = {"title": "", "artist": "", "album": "", "genre": "", "mood": ""}


def test_flac_vorbis_comments(write_audio):
    path = write_audio("song.flac", duration_s=0.5)
    tags = FLAC(path)
    tags.update({"TITLE": "Blue", "ARTIST": ["First", "Second"], "ALBUM": "Kind", "GENRE": "Jazz"})
    tags["MOOD"] = "mellow"
    tags.save()
    assert read_metadata(path) == {
        "title": "Blue",
        "artist": "First",
        "album": "Kind",
        "genre": "Jazz",
        "mood": "mellow",
        "duration_s": "0.500",
    }


def test_ogg_vorbis_comments(write_audio):
    path = write_audio("song.ogg", duration_s=0.75, sr=16000)
    tags = OggVorbis(path)
    tags["title"] = "Night"
    tags["mood"] = "not mellow"
    tags.save()
    found = read_metadata(path)
    assert (found["title"], found["mood"], found["artist"]) == ("Night", "not mellow", "")
    assert found["duration_s"] == "0.750"


@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="libsndfile without MP3")
def test_mp3_id3_with_tmoo(write_audio):
    path = write_audio("song.mp3", duration_s=1.0)
    tags = ID3()
    for frame in (TIT2(text="Dawn"), TPE1(text="Band"), TALB(text="LP"), TMOO(text="mellow")):
        tags.add(frame)
    tags.add(TCON(text="(17)"))
    tags.save(path)
    found = read_metadata(path)
    assert {key: found[key] for key in EMPTY} == {
        "title": "Dawn",
        "artist": "Band",
        "album": "LP",
        "genre": "Rock",
        "mood": "mellow",
    }
    assert float(found["duration_s"]) == pytest.approx(1.0, abs=0.06)


def test_m4a_freeform_mood(tmp_path):
    path = tmp_path / "song.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=22050, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 11025), dtype=np.float32), format="flt", layout="mono"
        )
        frame.sample_rate, frame.pts = 22050, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    tags = MP4(path)
    tags["\xa9nam"] = ["Tide"]
    tags["\xa9gen"] = ["Ambient"]
    tags["----:com.apple.iTunes:MOOD"] = [MP4FreeForm(b"mellow")]
    tags.save()
    found = read_metadata(path)
    assert (found["title"], found["genre"], found["mood"]) == ("Tide", "Ambient", "mellow")
    assert 0.4 < float(found["duration_s"]) < 0.7


def test_wav_without_tags(write_audio):
    found = read_metadata(write_audio("plain.wav", duration_s=0.5))
    assert found == {**EMPTY, "duration_s": "0.500"}


def test_wav_with_id3_chunk(write_audio):
    path = write_audio("tagged.wav", duration_s=0.5)
    tags = WAVE(path)
    tags.add_tags()
    tags.tags.add(TPE1(text="Someone"))
    tags.tags.add(TMOO(text="mellow"))
    tags.save()
    found = read_metadata(path)
    assert (found["artist"], found["mood"], found["title"]) == ("Someone", "mellow", "")


@pytest.mark.parametrize("content", [b"", b"this is not audio" * 20, b"fLaC" + b"\0" * 60])
def test_unparseable_file_gives_empty_strings(tmp_path, content):
    path = tmp_path / "broken.flac"
    path.write_bytes(content)
    assert read_metadata(path) == {**EMPTY, "duration_s": ""}


def test_missing_file_gives_empty_strings(tmp_path):
    assert read_metadata(tmp_path / "gone.mp3") == {**EMPTY, "duration_s": ""}
