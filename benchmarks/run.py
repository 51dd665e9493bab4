"""Time tunetag's extraction against the plain librosa way, measured in the same run.

Baseline: ``librosa.load`` (mono, resampled) then ``librosa.feature.melspectrogram`` per song.
tunetag: ``extract_files`` with a cold cache (decode, window, log-mel, cache write), then the
same call again with the cache warm. Prints seconds and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import librosa

from tunetag.config import FeatureConfig
from tunetag.demolibrary import make_demo_library
from tunetag.features.extract import extract_files


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs-per-class", type=int, default=6)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per song")
    args = parser.parse_args()
    features = FeatureConfig()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = make_demo_library(
            root / "music", args.songs_per_class, args.duration, seed=0, progress=False
        )

        def baseline() -> None:
            for path in paths:
                y, sr = librosa.load(path, sr=features.audio.sample_rate, mono=True)
                librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128))

        def extract() -> None:
            extract_files(paths, features, root / "cache", progress=False)

        y, sr = librosa.load(paths[0], sr=features.audio.sample_rate)  # warm librosa's imports
        librosa.feature.melspectrogram(y=y, sr=sr)
        base = _timed(baseline)
        cold = _timed(extract)
        warm = _timed(extract)
    print(f"{len(paths)} songs of {args.duration:.0f} s")
    print(f"{'step':28s} {'seconds':>8s} {'vs baseline':>12s}")
    for name, seconds in (
        ("baseline: librosa, 1 process", base),
        ("tunetag extract, cold cache", cold),
        ("tunetag extract, warm cache", warm),
    ):
        print(f"{name:28s} {seconds:8.2f} {base / seconds:11.1f}x")


if __name__ == "__main__":
    main()
