"""Writing audio of any length: a long Ogg Vorbis write must not take the process down."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from tunetag.audio.encode import write_audio

LONG_OGG = """
import sys
import numpy as np
from tunetag.audio.encode import write_audio
noise = (np.random.default_rng(0).standard_normal(44100 * 60) * 0.1).astype(np.float32)
write_audio(sys.argv[1], noise, 44100, "OGG", "VORBIS")
"""


def test_a_minute_of_ogg_vorbis_is_written_whole(tmp_path):
    """One soundfile.write of this much Vorbis segfaults (libsndfile issue 1095)."""
    target = tmp_path / "long.ogg"
    done = subprocess.run([sys.executable, "-c", LONG_OGG, str(target)], timeout=120)
    assert done.returncode == 0
    assert sf.info(target).frames == 44100 * 60


@pytest.mark.parametrize(("file_format", "subtype"), [("FLAC", "PCM_16"), ("WAV", "FLOAT")])
def test_stereo_blocks_are_joined_in_order(tmp_path, file_format, subtype):
    frames = 3 * 65536 + 17  # not a whole number of blocks
    ramp = np.linspace(-0.9, 0.9, frames, dtype=np.float32)
    stereo = np.stack([ramp, -ramp], axis=1)
    target = tmp_path / f"ramp.{file_format.lower()}"
    write_audio(target, stereo, 22050, file_format, subtype)
    back, sr = sf.read(target, dtype="float32")
    assert sr == 22050
    np.testing.assert_allclose(back, stereo, atol=1e-4)
