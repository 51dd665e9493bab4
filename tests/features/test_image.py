"""The proposal's 1600x400 'magma' picture of a log-mel, and writing it as a PNG."""

from __future__ import annotations

import timeit

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image
from signals import sine

from tunetag.errors import ParameterError
from tunetag.features import mel_spectrogram, seed_image, write_png

MAGMA = colormaps["magma"]


def ramp(n_mels: int = 128, frames: int = 300) -> np.ndarray:
    """A log-mel whose value rises with the band: -80 dB at the lowest, 0 dB at the highest."""
    return np.repeat(np.linspace(-80.0, 0.0, n_mels, dtype=np.float32)[:, None], frames, axis=1)


def brightness(image: np.ndarray) -> np.ndarray:
    return image[..., :3].astype(float).sum(axis=-1)


def test_shape_dtype_and_opaque_alpha():
    image = seed_image(ramp())
    assert image.shape == (400, 1600, 4)
    assert image.dtype == np.uint8
    assert (image[..., 3] == 255).all()


def test_custom_size():
    assert seed_image(ramp(), height=64, width=200).shape == (64, 200, 4)


def test_colours_span_magma_from_the_minimum_to_the_maximum():
    image = seed_image(ramp())
    # highest band (0 dB) at the top row, lowest (-80 dB) at the bottom row
    np.testing.assert_array_equal(image[0, 0], MAGMA(1.0, bytes=True))
    np.testing.assert_array_equal(image[-1, 0], MAGMA(0.0, bytes=True))


def test_scaling_uses_the_array_own_range():
    np.testing.assert_array_equal(seed_image(ramp()), seed_image(ramp() / 4 - 3))


def test_constant_array_is_the_bottom_colour():
    image = seed_image(np.full((16, 50), -20.0))
    assert (image == MAGMA(0.0, bytes=True)).all()


def test_low_tone_is_brighter_near_the_bottom_rows():
    sr = 22050
    y = sine(2.0, sr, 150.0, amplitude=0.5)
    image = seed_image(mel_spectrogram(y=y, sr=sr))
    rows = brightness(image).mean(axis=1)
    assert rows[-100:].mean() > 2 * rows[:100].mean()
    assert np.argmax(rows) > 300


def test_time_runs_left_to_right():
    log_mel = np.full((32, 100), -80.0)
    log_mel[:, 75:] = 0.0  # loud only in the last quarter
    image = seed_image(log_mel, height=40, width=400)
    columns = brightness(image).mean(axis=0)
    assert columns[:290].max() < columns[310:].min()


def test_a_130_s_log_mel_renders_fast():
    log_mel = np.random.default_rng(0).uniform(-80, 0, size=(128, 5600)).astype(np.float32)
    best_s = min(timeit.repeat(lambda: seed_image(log_mel), number=1, repeat=3))
    assert best_s < 0.1


@pytest.mark.parametrize(
    "log_mel",
    [np.zeros(10), np.zeros((0, 5)), np.array([[0.0, np.nan]])],
    ids=["1-D", "empty", "nan"],
)
def test_bad_arrays_are_parameter_errors(log_mel):
    with pytest.raises(ParameterError):
        seed_image(log_mel)


def test_write_png_round_trips_a_1600x400_rgba_picture(tmp_path):
    image = seed_image(ramp())
    path = tmp_path / "pictures" / "song.png"
    write_png(path, image)
    with Image.open(path) as png:
        assert png.format == "PNG"
        assert png.size == (1600, 400)
        assert png.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(png), image)
    assert [p.name for p in path.parent.iterdir()] == ["song.png"]  # no temporary file left


def test_write_png_rejects_non_image_arrays(tmp_path):
    with pytest.raises(ParameterError):
        write_png(tmp_path / "x.png", np.zeros((4, 4), dtype=np.float32))
    assert not (tmp_path / "x.png").exists()
