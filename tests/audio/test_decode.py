"""Decoding every format we promise to mono float32 at one rate, and every way it can fail."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from signals import sine

from tunetag.audio import analysis_window, decode, load_window
from tunetag.config import AudioConfig
from tunetag.errors import AudioDecodeError, ParameterError


def peak_hz(y: np.ndarray, sr: int) -> float:
    """Frequency of the largest FFT bin, in Hz."""
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spectrum) * sr / len(y))


def encode_with_pyav(path: Path, y: np.ndarray, sr: int, codec: str) -> Path:
    """Write ``y`` (mono, or (channels, samples)) with an FFmpeg encoder; skip the test if
    this build lacks it."""
    try:
        av.codec.Codec(codec, "w")
    except Exception as exc:
        pytest.skip(f"FFmpeg in this PyAV build has no {codec} encoder: {exc}")
    planes = np.ascontiguousarray(np.atleast_2d(y))
    layout = "mono" if len(planes) == 1 else "stereo"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=sr)
        stream.layout = layout
        frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout=layout)
        frame.sample_rate = sr
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    ("name", "subtype"),
    [
        ("int16.wav", "PCM_16"),
        ("int24.wav", "PCM_24"),
        ("float.wav", "FLOAT"),
        ("song.flac", None),
        ("song.ogg", None),
        ("song.aiff", None),
    ],
)
def test_soundfile_formats_decode_to_mono_float32_at_the_asked_rate(tmp_path, name, subtype):
    path = tmp_path / name
    sf.write(path, sine(2.0, 44100), 44100, subtype=subtype)
    y = decode(path, 22050)
    assert y.dtype == np.float32
    assert y.ndim == 1
    assert abs(len(y) - 2.0 * 22050) <= 0.01 * 22050
    assert peak_hz(y, 22050) == pytest.approx(440.0, abs=2.0)
    assert np.abs(y).max() == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(
    ("name", "codec", "sr_in"),
    [("song.mp3", "mp3", 44100), ("song.m4a", "aac", 44100), ("song.opus", "libopus", 48000)],
)
def test_compressed_formats_decode(tmp_path, name, codec, sr_in):
    path = encode_with_pyav(tmp_path / name, sine(2.0, sr_in), sr_in, codec)
    y = decode(path, 22050)
    assert y.dtype == np.float32
    # encoders add up to a frame or two of priming and padding
    assert abs(len(y) - 2.0 * 22050) <= 0.05 * 22050
    assert peak_hz(y, 22050) == pytest.approx(440.0, abs=2.0)
    assert np.abs(y[2000:-2000]).max() == pytest.approx(0.5, abs=0.1)


def test_m4a_is_read_by_the_ffmpeg_fallback(tmp_path):
    path = encode_with_pyav(tmp_path / "song.m4a", sine(1.0, 44100), 44100, "aac")
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(path))
    assert len(decode(path, 44100)) > 0.9 * 44100


def test_ffmpeg_fallback_matches_soundfile_on_flac(tmp_path, monkeypatch):
    path = tmp_path / "song.flac"
    sf.write(path, np.stack([sine(1.0, 32000), sine(1.0, 32000, 880.0)], axis=1), 32000)
    by_soundfile = decode(path, 16000)
    stretch_by_soundfile = decode(path, 16000, offset_s=0.25, duration_s=0.5)  # a seek

    def refuse(path, *stretch):
        raise RuntimeError("pretend libsndfile cannot read this")

    # the module, not the function of the same name that tunetag.audio exports
    decode_module = importlib.import_module("tunetag.audio.decode")
    monkeypatch.setattr(decode_module, "_read_soundfile", refuse)
    by_ffmpeg = decode(path, 16000)
    np.testing.assert_allclose(by_ffmpeg, by_soundfile, atol=1e-4)
    stretch = decode(path, 16000, offset_s=0.25, duration_s=0.5)  # decoded from the start
    assert len(stretch) == len(stretch_by_soundfile) == 8000
    np.testing.assert_allclose(stretch, stretch_by_soundfile, atol=1e-4)


def five_tones(sr: int) -> np.ndarray:
    """Stereo, 10 s: five 2 s tones, a different one in each channel, so a misplaced
    stretch shows."""
    left = np.concatenate([sine(2.0, sr, 200.0 * (k + 1), 0.4) for k in range(5)])
    right = np.concatenate([sine(2.0, sr, 250.0 * (k + 1), 0.3) for k in range(5)])
    return np.stack([left, right])


def write_five_tones(path: Path, codec: str | None) -> Path:
    """The five tones at 44.1 kHz, through libsndfile (codec None) or an FFmpeg encoder."""
    if codec is None:
        sf.write(path, five_tones(44100).T, 44100)
        return path
    return encode_with_pyav(path, five_tones(44100), 44100, codec)


@pytest.mark.parametrize(
    ("name", "codec"), [("song.ogg", None), ("song.flac", None), ("song.mp3", "mp3")]
)
@pytest.mark.parametrize(("offset_s", "duration_s"), [(3.3, 4.0), (1.2, 8.0), (6.0, None)])
def test_ffmpeg_reads_a_stretch_by_seeking_exactly_as_the_whole_song_cut(
    tmp_path, name, codec, offset_s, duration_s
):
    path = write_five_tones(tmp_path / name, codec)
    decode_module = importlib.import_module("tunetag.audio.decode")
    whole, sr = decode_module._read_pyav(path)
    stretch, sr_stretch = decode_module._read_pyav(path, offset_s, duration_s)
    start = int(round(offset_s * sr))
    stop = None if duration_s is None else start + int(round(duration_s * sr))
    assert sr_stretch == sr == 44100
    np.testing.assert_array_equal(stretch, whole[:, start:stop])


def test_ffmpeg_seeks_instead_of_decoding_the_song_before_the_stretch(tmp_path, monkeypatch):
    path = write_five_tones(tmp_path / "song.ogg", None)
    decode_module = importlib.import_module("tunetag.audio.decode")
    seen = []
    original = decode_module._sample_number
    monkeypatch.setattr(
        decode_module, "_sample_number", lambda frame, stream: seen.append(frame.pts) or original(
            frame, stream)
    )  # fmt: skip
    decode_module._read_pyav(path, 6.0, 1.0)
    assert len(seen) == 1
    assert 44100 * 4 <= seen[0] <= 44100 * 5  # the preroll second, not the start


def test_ffmpeg_without_timestamps_decodes_from_the_start(tmp_path, monkeypatch):
    path = write_five_tones(tmp_path / "song.ogg", None)
    decode_module = importlib.import_module("tunetag.audio.decode")
    whole, sr = decode_module._read_pyav(path)
    monkeypatch.setattr(decode_module, "_sample_number", lambda frame, stream: None)
    stretch, _ = decode_module._read_pyav(path, 6.0, 1.0)
    np.testing.assert_array_equal(stretch, whole[:, 6 * sr : 7 * sr])


def test_aac_stretch_by_seeking_matches_the_whole_song_cut_up_to_its_noise(tmp_path):
    # AAC's perceptual noise substitution draws from a generator that the seek restarts,
    # so the samples are close, not equal
    path = write_five_tones(tmp_path / "song.m4a", "aac")
    decode_module = importlib.import_module("tunetag.audio.decode")
    whole, sr = decode_module._read_pyav(path)
    stretch, _ = decode_module._read_pyav(path, 3.3, 4.0)
    cut = whole[:, int(round(3.3 * sr)) : int(round(3.3 * sr)) + 4 * sr]
    assert stretch.shape == cut.shape
    assert np.sqrt(np.mean((stretch - cut) ** 2)) < 0.05 * np.sqrt(np.mean(cut**2))


def test_ogg_vorbis_is_decoded_by_ffmpeg_and_matches_libvorbis(tmp_path, monkeypatch):
    path = write_five_tones(tmp_path / "song.ogg", None)
    by_libvorbis = sf.read(path, dtype="float32")[0].mean(axis=1)
    decode_module = importlib.import_module("tunetag.audio.decode")
    monkeypatch.setattr(decode_module, "_read_soundfile", lambda *args: pytest.fail("libsndfile"))
    y = decode(path, 44100)
    assert len(y) == len(by_libvorbis)
    np.testing.assert_allclose(y, by_libvorbis, atol=1e-5)


@pytest.mark.parametrize(("frames", "sr"), [(44100, 44100), (22050, 22050), (66167, 22050)])
def test_short_ogg_vorbis_keeps_the_length_libvorbis_reads(tmp_path, frames, sr):
    # FFmpeg ignores the end of a song held in one Ogg page: 128 samples short, or some over
    path = tmp_path / "short.ogg"
    sf.write(path, np.stack([sine(frames / sr, sr, 3000.0)] * 2, axis=1), sr)
    by_libvorbis = sf.read(path, dtype="float32")[0].mean(axis=1)
    y = decode(path, sr)
    assert len(y) == len(by_libvorbis) == frames
    np.testing.assert_allclose(y, by_libvorbis, atol=1e-5)
    stretch = decode(path, sr, offset_s=0.25, duration_s=10.0)  # past the end: to the end
    assert len(stretch) == frames - sr // 4


def test_ogg_vorbis_falls_back_to_libsndfile_when_ffmpeg_refuses(tmp_path, monkeypatch):
    path = write_five_tones(tmp_path / "song.ogg", None)
    decode_module = importlib.import_module("tunetag.audio.decode")

    def refuse(path, *stretch):
        raise AudioDecodeError(f"{path}: pretend FFmpeg cannot read this")

    monkeypatch.setattr(decode_module, "_read_pyav", refuse)
    assert len(decode(path, 22050, offset_s=2.0, duration_s=3.0)) == 3 * 22050


def test_load_window_of_an_m4a_reads_by_its_header_length(tmp_path):
    path = write_five_tones(tmp_path / "song.m4a", "aac")
    y = load_window(path, AudioConfig(sample_rate=44100, window_s=2.0))
    # the centre 2 s of 10 s (plus the encoder's priming) lie in the third tone, 600 Hz left
    # and 750 Hz right, whose average peaks at one of the two
    assert len(y) == 2 * 44100
    assert peak_hz(y, 44100) == pytest.approx(600.0, abs=3.0) or peak_hz(y, 44100) == pytest.approx(
        750.0, abs=3.0
    )


@pytest.mark.parametrize("sr_in", [8000, 22050, 44100, 96000])
def test_any_rate_is_resampled_keeping_duration_and_pitch(tmp_path, sr_in):
    path = tmp_path / f"tone-{sr_in}.wav"
    sf.write(path, sine(1.5, sr_in), sr_in, subtype="FLOAT")
    y = decode(path, 22050)
    assert abs(len(y) - 1.5 * 22050) <= 2
    assert peak_hz(y, 22050) == pytest.approx(440.0, abs=1.0)


def test_same_rate_is_not_resampled(tmp_path):
    path = tmp_path / "float.wav"
    x = sine(1.0, 22050)
    sf.write(path, x, 22050, subtype="FLOAT")
    np.testing.assert_array_equal(decode(path, 22050), x)


def test_sine_resampled_from_44100_to_22050_keeps_its_fft_peak_at_440_hz(tmp_path):
    path = tmp_path / "a440.wav"
    sf.write(path, sine(2.0, 44100), 44100)
    y = decode(path, 22050)
    assert peak_hz(y, 22050) == pytest.approx(440.0, abs=0.6)


def test_stereo_is_downmixed_by_averaging(tmp_path):
    x = sine(1.0, 22050)
    opposite = tmp_path / "opposite.wav"
    sf.write(opposite, np.stack([x, -x], axis=1), 22050, subtype="FLOAT")
    assert np.abs(decode(opposite, 22050)).max() < 1e-6

    mixed = tmp_path / "mixed.wav"
    sf.write(mixed, np.stack([x, np.zeros_like(x)], axis=1), 22050, subtype="FLOAT")
    np.testing.assert_allclose(decode(mixed, 22050), x / 2, atol=1e-7)


def test_missing_file(tmp_path):
    with pytest.raises(AudioDecodeError, match=r"nothere\.wav: file not found$"):
        decode(tmp_path / "nothere.wav", 22050)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.flac"
    path.touch()
    with pytest.raises(AudioDecodeError, match=r"empty\.flac: empty file \(0 bytes\)$"):
        decode(path, 22050)


def test_text_file_renamed_mp3_is_not_audio(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("these are my notes, not a song\n" * 50)
    with pytest.raises(AudioDecodeError) as info:
        decode(path, 22050)
    message = str(info.value)
    assert message == f"{path}: not a readable audio file"


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(AudioDecodeError, match="not a file"):
        decode(tmp_path, 22050)


def test_file_with_no_samples(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(AudioDecodeError, match="no audio samples"):
        decode(path, 22050)


def test_non_finite_samples(tmp_path):
    path = tmp_path / "nan.wav"
    x = sine(0.5, 22050)
    x[100] = np.nan
    sf.write(path, x, 22050, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="non-finite"):
        decode(path, 22050)


def test_container_without_audio_stream(tmp_path):
    path = tmp_path / "video.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(AudioDecodeError, match="no audio stream"):
        decode(path, 22050)


def test_bad_rate_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError):
        decode(tmp_path / "x.wav", 0)


def test_load_window_rejects_songs_shorter_than_the_minimum(write_audio):
    path = write_audio("short.wav", duration_s=0.42)
    with pytest.raises(AudioDecodeError) as info:
        load_window(path, AudioConfig(min_duration_s=1.0))
    assert str(info.value) == f"{path}: too short (0.42 s < 1.0 s)"
    assert re.fullmatch(r".+: too short \(\d+\.\d\d s < 1\.0 s\)", str(info.value))


def test_load_window_returns_the_centre_window_at_the_configured_rate(tmp_path):
    sr_in, sr = 16000, 8000
    # a song whose first, middle and last 3 s each hold one pitch
    x = np.concatenate([sine(3.0, sr_in, 300.0), sine(3.0, sr_in, 600.0), sine(3.0, sr_in, 900.0)])
    path = tmp_path / "three.wav"
    sf.write(path, x, sr_in, subtype="FLOAT")
    audio = AudioConfig(sample_rate=sr, window_s=2.0, window_position="centre")
    y = load_window(path, audio)
    assert len(y) == 2 * sr
    assert peak_hz(y, sr) == pytest.approx(600.0, abs=2.0)
    start = load_window(path, AudioConfig(sample_rate=sr, window_s=2.0, window_position="start"))
    assert peak_hz(start, sr) == pytest.approx(300.0, abs=2.0)


@pytest.mark.parametrize("position", ["centre", "start"])
def test_load_window_reads_the_window_alone_and_matches_the_whole_song_cut(
    tmp_path, monkeypatch, position
):
    sr = 22050
    x = np.concatenate([sine(3.0, sr, 300.0), sine(3.0, sr, 600.0), sine(3.0, sr, 900.0)])
    path = tmp_path / "three.flac"
    sf.write(path, x, sr)
    audio = AudioConfig(sample_rate=sr, window_s=2.0, window_position=position)
    whole = analysis_window(decode(path, sr), sr, 2.0, position)
    read = []
    original = sf.SoundFile.read
    monkeypatch.setattr(
        sf.SoundFile, "read", lambda self, frames=-1, **kw: read.append(frames) or original(
            self, frames, **kw)
    )  # fmt: skip
    y = load_window(path, audio)
    assert read == [2 * sr]  # one read of the window's frames, not the whole file
    np.testing.assert_array_equal(y, whole)


def test_a_resampled_window_matches_the_whole_song_cut_away_from_its_edges(tmp_path):
    sr_in, sr = 44100, 22050
    x = np.concatenate([sine(3.0, sr_in, 300.0), sine(3.0, sr_in, 600.0), sine(3.0, sr_in, 900.0)])
    path = tmp_path / "three.wav"
    sf.write(path, x, sr_in, subtype="FLOAT")
    y = load_window(path, AudioConfig(sample_rate=sr, window_s=2.0))
    whole = analysis_window(decode(path, sr), sr, 2.0, "centre")
    assert len(y) == len(whole) == 2 * sr
    edge = sr // 20  # the resampler's filter sees no samples past the cut: 50 ms either side
    np.testing.assert_allclose(y[edge:-edge], whole[edge:-edge], atol=1e-4)


def test_load_window_reads_the_header_once(tmp_path, monkeypatch):
    path = write_five_tones(tmp_path / "song.ogg", None)
    headers = []
    real_info = sf.info
    monkeypatch.setattr(sf, "info", lambda *args, **kw: headers.append(1) or real_info(*args, **kw))
    assert len(load_window(path, AudioConfig(sample_rate=44100, window_s=2.0))) == 2 * 44100
    assert len(headers) == 1


def test_decoded_frames_are_joined_exactly_however_many_and_wherever_their_planes_end():
    """FFmpeg's frames, copied plane by plane into one array that grows past its first
    size, give the samples joined as they were (odd lengths: planes padded past them)."""
    decode_module = importlib.import_module("tunetag.audio.decode")
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal((2, n)).astype(np.float32) for n in (1, 1023, 70_001, 7, 50_000)]
    buffer = decode_module._SampleBuffer()
    for part in parts:
        buffer.add(av.AudioFrame.from_ndarray(part, format="fltp", layout="stereo"))
    np.testing.assert_array_equal(buffer.array(), np.concatenate(parts, axis=1))
    mono = av.AudioFrame.from_ndarray(parts[0][:1], format="fltp", layout="mono")
    with pytest.raises(ValueError, match="a frame of 1 channels after 2"):
        buffer.add(mono)
