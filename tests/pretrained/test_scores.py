"""`tunetag tags`: the pretrained tagger's own scores per song, as a CSV."""

from __future__ import annotations

import csv
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from musicnn_reference import SR, reference_clip
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.errors import AudioDecodeError
from tunetag.pretrained.networks import cut_patches
from tunetag.pretrained.scores import tag_scores, tagger_scores
from tunetag.pretrained.taggers import tag_names

# The original musicnn's numbers for the reference clip (see tests/pretrained/test_networks.py)
REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "musicnn.json").read_text())


@pytest.mark.parametrize(("frames", "patches"), [(187, 1), (561, 3), (700, 3), (50, 1)])
def test_songs_are_cut_in_whole_3_s_patches(frames, patches):
    mel = np.arange(96 * frames, dtype=np.float32).reshape(96, frames)
    cut = cut_patches(mel)
    assert cut.shape == (patches, 1, 96, 187)
    if frames >= 187:
        np.testing.assert_array_equal(cut[-1, 0], mel[:, (patches - 1) * 187 : patches * 187])
    else:  # repeated to fill one patch
        np.testing.assert_array_equal(cut[0, 0, :, frames : 2 * frames], mel)


def test_a_song_score_is_its_patches_mean_probability(tmp_path):
    """The reference clip as a file: its score is the mean over its three patches of what the
    original TensorFlow musicnn gave each patch (fixtures/musicnn.json)."""
    song = tmp_path / "reference.wav"
    sf.write(song, reference_clip(), SR, subtype="FLOAT")  # float: the clip's samples exactly
    result = tag_scores([song], tagger="MTT_musicnn", cache_dir=tmp_path / "c", progress=False)
    per_patch = np.asarray(REFERENCE["models"]["MTT_musicnn"]["tags"])
    expected = per_patch.mean(axis=0)
    # the patches differ: one patch alone, or their largest score, is far from the mean
    assert np.abs(per_patch - expected).max(axis=1).min() > 1e-3
    assert np.abs(per_patch.max(axis=0) - expected).max() > 1e-3
    assert result.tags == tag_names("MTT_musicnn")
    assert result.scores.shape == (1, 50)
    np.testing.assert_allclose(result.scores[0], expected, atol=5e-6)  # 8e-7 off when written


def test_the_csv_has_the_top_tags_then_every_tag_and_bad_songs_are_skipped(tmp_path, write_audio):
    songs = [
        write_audio("low.wav", duration_s=4.0, freq_hz=110.0),
        write_audio("high.flac", duration_s=5.0, freq_hz=2000.0, sr=44100),
    ]
    broken = tmp_path / "broken.mp3"
    broken.write_text("not audio", encoding="utf-8")
    with ThreadPoolExecutor(2) as pool:
        result = tagger_scores(
            [*songs, broken],
            tmp_path / "tags.csv",
            cache_dir=tmp_path / "c",
            executor=pool,
            progress=False,
        )
    assert list(result.errors) == [broken.resolve()]
    with open(tmp_path / "tags.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = tag_names("MSD_musicnn")
    assert list(rows[0]) == ["path", "top", *names]
    assert [row["path"] for row in rows] == [str(song.resolve()) for song in songs]
    for row, scores in zip(rows, result.scores, strict=True):
        values = np.array([float(row[name]) for name in names])
        assert ((values >= 0) & (values <= 1)).all()
        np.testing.assert_allclose(values, scores, atol=5e-5)
        top = row["top"].split("; ")
        assert len(top) == 3 and top[0] == names[int(np.argmax(values))]


def test_no_readable_song_is_an_error(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio", encoding="utf-8")
    with pytest.raises(AudioDecodeError, match="none of the 1 songs could be read"):
        tag_scores([broken], cache_dir=tmp_path / "c", progress=False)


def test_the_command_writes_the_csv_and_names_an_unknown_tagger(tmp_path, write_audio):
    song = write_audio("a.wav", duration_s=3.5, sr=16000)
    runner = CliRunner()
    out = tmp_path / "tags.csv"
    done = runner.invoke(
        app, ["tags", str(song), "-o", str(out), "--tagger", "MTT_vgg", "--cache", str(tmp_path)]
    )
    assert done.exit_code == 0, done.output
    assert "1 songs tagged by MTT_vgg, 0 skipped" in done.output
    assert out.read_text(encoding="utf-8").startswith("path,top,guitar,classical,")
    refused = runner.invoke(app, ["tags", str(song), "--tagger", "vgg", "--cache", str(tmp_path)])
    assert refused.exit_code == 1
    assert refused.output.startswith("error: unknown tagger 'vgg'; known taggers: MSD_musicnn")
