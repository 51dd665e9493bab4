"""What the page plays and shows: browser-playable audio and the song's spectrogram PNG."""

from __future__ import annotations

import io

import librosa
import numpy as np
import pytest
from PIL import Image

from tunetag.audio.decode import decode
from tunetag.config import FeatureConfig
from tunetag.errors import AudioDecodeError
from tunetag.features.cache import FeatureCache
from tunetag.labelapp import media
from tunetag.labelapp.media import IMAGE_SIZE, LISTEN_RATE, playable_audio, spectrogram_png


def refuse(*args, **kwargs):
    raise AssertionError("decoded again: the cached copy should have been used")


# --- playable_audio ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "media_type"), [("song.flac", "audio/flac"), ("Song.WAV", "audio/wav")]
)
def test_a_file_browsers_play_is_sent_as_itself(write_audio, tmp_path, name, media_type):
    path = write_audio(name, duration_s=1.0)
    cache_dir = tmp_path / "cache"
    assert playable_audio(path, cache_dir) == (path, media_type, None)
    assert not cache_dir.exists()


def test_an_aiff_is_transcoded_once_to_an_ogg_copy_in_the_cache(write_audio, tmp_path, monkeypatch):
    path = write_audio("song.aiff", duration_s=2.0, sr=22050)
    cache_dir = tmp_path / "cache"

    copy, media_type, note = playable_audio(path, cache_dir)

    assert copy.parent == cache_dir / "listen" and copy.suffix == ".ogg"
    assert media_type == "audio/ogg"
    assert ".aiff" in note
    assert copy.read_bytes()[:4] == b"OggS"
    samples = decode(copy, LISTEN_RATE)
    assert len(samples) / LISTEN_RATE == pytest.approx(2.0, abs=0.05)
    assert 0.2 < np.abs(samples).max() < 0.8  # the 0.5 sine, not silence or noise

    monkeypatch.setattr(media, "decode", refuse)
    assert playable_audio(path, cache_dir) == (copy, media_type, note)
    assert list((cache_dir / "listen").iterdir()) == [copy]


def test_an_edited_file_gets_a_new_transcode(write_audio, tmp_path):
    path = write_audio("song.aiff", duration_s=1.0)
    first, _, _ = playable_audio(path, tmp_path / "cache")
    write_audio("song.aiff", duration_s=2.0)

    second, _, _ = playable_audio(path, tmp_path / "cache")

    assert second != first
    assert len(decode(second, LISTEN_RATE)) / LISTEN_RATE == pytest.approx(2.0, abs=0.05)


def test_a_missing_file_is_an_audio_decode_error_naming_it(tmp_path):
    path = tmp_path / "gone.flac"
    with pytest.raises(AudioDecodeError, match="gone.flac"):
        playable_audio(path, tmp_path / "cache")


def test_a_file_that_is_not_audio_cannot_be_transcoded(tmp_path):
    path = tmp_path / "notes.aiff"
    path.write_text("not a song, just some words\n" * 20, encoding="utf-8")
    with pytest.raises(AudioDecodeError, match="notes.aiff"):
        playable_audio(path, tmp_path / "cache")
    assert not any((tmp_path / "cache").rglob("*.ogg"))


# --- spectrogram_png --------------------------------------------------------------------


def png_pixels(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))


def test_the_spectrogram_is_a_png_of_image_size_and_warms_the_cache(write_audio, tmp_path):
    path = write_audio("song.wav", duration_s=2.0)
    features, cache = FeatureConfig(), FeatureCache(tmp_path / "cache")
    assert cache.load(path, features, "mel") is None

    data = spectrogram_png(path, features, cache)

    assert png_pixels(data).shape == (*IMAGE_SIZE, 3)
    mel = cache.load(path, features, "mel")
    assert mel is not None and mel.shape[0] == features.mel.n_mels


def test_a_second_spectrogram_comes_from_the_cache_without_decoding(
    write_audio, tmp_path, monkeypatch
):
    path = write_audio("song.flac", duration_s=2.0)
    features, cache = FeatureConfig(), FeatureCache(tmp_path / "cache")
    first = spectrogram_png(path, features, cache)

    monkeypatch.setattr(media, "load_window", refuse)

    assert spectrogram_png(path, features, cache) == first


def test_a_tone_is_a_bright_line_at_its_own_mel_band(write_audio, tmp_path):
    freq_hz = 1000.0
    path = write_audio("tone.wav", duration_s=2.0, freq_hz=freq_hz)
    features = FeatureConfig()

    pixels = png_pixels(spectrogram_png(path, features, FeatureCache(tmp_path / "cache")))

    brightness = pixels.astype(np.float64).sum(axis=2).mean(axis=1)  # per row, top first
    centres = librosa.mel_frequencies(
        features.mel.n_mels + 2, fmin=features.mel.fmin, fmax=features.audio.sample_rate / 2
    )[1:-1]
    expected_band = int(np.argmin(np.abs(centres - freq_hz)))
    height = IMAGE_SIZE[0]
    brightest_band = (height - 1 - int(np.argmax(brightness))) * features.mel.n_mels // height
    assert abs(brightest_band - expected_band) <= 1
    assert brightness.max() > 3 * np.median(brightness)


def test_a_missing_song_has_no_spectrogram(tmp_path):
    with pytest.raises(AudioDecodeError, match="gone.wav"):
        spectrogram_png(tmp_path / "gone.wav", FeatureConfig(), FeatureCache(tmp_path / "c"))


def test_a_song_too_short_to_analyse_has_no_spectrogram(write_audio, tmp_path):
    path = write_audio("blip.wav", duration_s=0.3)
    cache = FeatureCache(tmp_path / "cache")
    with pytest.raises(AudioDecodeError, match="too short"):
        spectrogram_png(path, FeatureConfig(), cache)
    assert cache.load(path, FeatureConfig(), "mel") is None
