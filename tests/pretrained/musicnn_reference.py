"""Reference numbers of the original musicnn, for tests/pretrained/test_networks.py.

Not a test: run once, by hand, where the original runs (TensorFlow 1-style graphs, old
numpy), and commit the JSON it writes:

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.15.1 numpy==1.26.4 librosa==0.10.2.post1
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfenv/bin/python tests/pretrained/musicnn_reference.py tests/models/fixtures/musicnn.json

It runs the original network (``musicnn.models.define_model``, the checkpoint restored by
TensorFlow) on `reference_clip`, all 187-frame patches in one batch, twice:

- on the log-mel as the network was trained: librosa's mel power (16 kHz, 512-point FFT,
  hop 256, 96 bands) rounded to float16 as the training data were stored, then
  ``log10(10000 x + 1)`` in float32; recorded: the sigmoid tag scores of every patch, for
  the musicnn models the 200-unit penultimate layer of every patch, and a sample of the
  log-mel, so a mismatch can be told apart as the features' or the network's;
- on the original's own input (``musicnn.extractor.batch_data``): its tag scores, what the
  original tagger prints. Its log is written in float16 arithmetic, which under numpy 1.26
  promotes to float32 (the integer 10000 does not fit float16's type), so these equal the
  first; under numpy 2 they would not, and a loud clip would overflow float16, hence the
  quiet clip.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

SR = 16000  # Hz, musicnn's rate: no resampling on either side
SECONDS = 10.0  # three 187-frame patches
MODELS = ("MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg")
MEL_SAMPLE = (slice(None, None, 25), slice(None, None, 12))  # frames, bands kept in the JSON


def reference_clip() -> np.ndarray:
    """10 s of deterministic music-like sound at 16 kHz, float32, no random generator.

    A plucked bass line, a chord of decaying partials, a chirp and clicks every half second,
    so that every band and every kind of filter in the network sees something.
    """
    t = np.arange(int(SR * SECONDS)) / SR
    beat = (t % 0.5) / 0.5  # position within each half-second beat, 0..1
    bass_hz = np.where((t % 2.0) < 1.0, 55.0, 73.4)
    y = 0.3 * np.sin(2 * np.pi * bass_hz * t) * np.exp(-4.0 * beat)
    for k, hz in enumerate((261.6, 329.6, 392.0, 523.3)):
        y += 0.08 / (k + 1) * np.sin(2 * np.pi * hz * t) * np.exp(-1.5 * (t % 2.0))
        y += 0.02 * np.sin(2 * np.pi * 3 * hz * t + k) * np.exp(-3.0 * (t % 2.0))
    y += 0.05 * np.sin(2 * np.pi * (200.0 * t + 350.0 * t**2))  # a chirp up to 7.2 kHz
    y += 0.2 * np.exp(-200.0 * beat) * np.sin(2 * np.pi * 5000.0 * t) * (beat < 0.05)
    return (0.1 * y / np.max(np.abs(y))).astype(np.float32)  # quiet: see the docstring


def main(out: Path) -> None:
    """Run the original on `reference_clip` and write what it gives to ``out``."""
    import librosa
    import musicnn
    import soundfile as sf
    import tensorflow as tf
    from musicnn import configuration, extractor, models

    tf.compat.v1.disable_eager_execution()
    found = {
        "how": __doc__.split("\n\n")[1].strip(),
        "versions": {
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "librosa": librosa.__version__,
        },
        "clip": {"sr": SR, "seconds": SECONDS},
        "models": {},
    }
    clip = reference_clip()
    power = librosa.feature.melspectrogram(
        y=clip, sr=SR, n_fft=configuration.FFT_SIZE, hop_length=configuration.FFT_HOP,
        n_mels=configuration.N_MELS,
    ).T  # fmt: skip
    mel = np.log10(10000 * power.astype(np.float16).astype(np.float32) + 1)
    patches = np.stack([mel[start : start + 187] for start in range(0, len(mel) - 186, 187)])
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "clip.wav"
        sf.write(wav, clip, SR, subtype="FLOAT")
        original_batch, _ = extractor.batch_data(str(wav), 187, 187)
    found["mel"] = {
        "shape": list(mel.shape),
        "sample": np.asarray(mel[MEL_SAMPLE], dtype=np.float64).round(6).tolist(),
    }
    for name in MODELS:
        labels = configuration.MTT_LABELS if "MTT" in name else configuration.MSD_LABELS
        tf.compat.v1.reset_default_graph()
        x = tf.compat.v1.placeholder(tf.float32, [None, 187, configuration.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        outputs = models.define_model(x, is_training, name, len(labels))
        fetch = {"tags": tf.nn.sigmoid(outputs[0])}
        if "musicnn" in name:
            fetch["penultimate"] = outputs[-1]
        with tf.compat.v1.Session() as session:
            tf.compat.v1.train.Saver().restore(session, f"{Path(musicnn.__file__).parent}/{name}/")
            values = session.run(fetch, feed_dict={x: patches, is_training: False})
            values["extractor_tags"] = session.run(
                fetch["tags"], feed_dict={x: original_batch, is_training: False}
            )
        found["models"][name] = {
            key: np.asarray(value, dtype=np.float64).round(7).tolist()
            for key, value in values.items()
        }
    out.write_text(json.dumps(found, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
