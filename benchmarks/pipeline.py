"""The proposal's pipeline against tunetag's, on real music, in one run (issue 6).

Three pipelines run over the same songs, on the cores of this machine:

- **A, the proposal's**: ``librosa.load(path, sr=22050, duration=130)`` (the *first* 130 s),
  ``librosa.feature.melspectrogram``, ``librosa.power_to_db(ref=np.max)`` and the RGBA PNG
  drawn as the proposal did (``librosa.display.specshow`` filling a 16x4 inch figure at 100
  dpi, ``savefig``: 1600x400 pixels), song by song in one process; then the PNGs are read
  back and scored by the ``seed`` model (the proposal's CNN; random weights, since
  building it costs about what loading a trained one does) in a second process.
- **B, tunetag's default**: the *centred* 130 s window, its log-mel cached as .npy
  (`extract_files` with its default process pool, cold then warm cache), and
  ``tunetag predict`` end to end with a quickly trained ``shortchunk`` run (the songs get
  arbitrary alternating labels: accuracy is not what is measured here).
- **The floor**: decoding alone, the same work tunetag's decode does
  (`tunetag.audio.decode.load_window`: the window alone, by a seek; Ogg Vorbis through
  FFmpeg, which decodes it faster than libvorbis; downmixed, resampled to 22050 Hz), without
  features. Plain decoding, the window read with a seek through soundfile (libvorbis for
  Ogg), is shown beside it.

Per song, medians over songs, one process, page cache warm (the files were just copied):
decode, A's steps (load, mel, dB, PNG), B's extraction of one song, and inference
(A: PNG read + ``seed`` forward; B: every 3 s crop through the trained model, as predict
scores it). Per library, wall seconds from process launch to exit, start-up and imports
included: A's preparation, A's scoring, the floor and B's extraction over a process pool,
and ``tunetag predict``.
Per model (``seed``, ``shortchunk``, ``multiview``, ``logreg``), each in a fresh process:
parameters; peak memory of a training step at the model's default batch size, as the rise
of the peak resident set (``VmHWM``, reset through ``/proc/self/clear_refs`` once the imports
are done; ``ru_maxrss`` where there is no /proc) over the steps: tracemalloc does not see
PyTorch's allocations; seconds per step (forward, loss, backward, AdamW;
augmentation as configured by default), extrapolated to one epoch over the same songs and
crops (``seed``: one picture per song, 2 steps only; crop models: 8 crops per song;
``logreg``: its closed-form fit on the songs' summaries). Inputs are random tensors of the
real shapes: time and memory do not depend on the values.

Cost against library size: ``tunetag predict`` over libraries of 100 and 300 songs by
default, made of hard links to copies of the real files, each with its own path and so its
own cache entry: every song is decoded for real. ``--sizes 100,1000,10000`` gives the whole
curve: 1000 songs add about 5 minutes on 2 cores, 10000 about 47 minutes and 21 GB
of cache (each cache is deleted once its size is measured). Memory is the peak over the run
of the summed proportional set size (PSS, shared pages split between processes) of
``predict`` and its workers, sampled every 0.2 s from /proc.

Timings on a shared machine are noisy; the load average before and after is recorded.
Usage: ``python benchmarks/pipeline.py [--music DIR] [--songs N] [--sizes 100,1000]
[--out benchmarks/results]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

WESNOTH_MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
PROPOSAL_SR = 22050  # Hz, the proposal's librosa.load rate
PROPOSAL_DURATION_S = 130.0  # seconds the proposal loads: the first 130 s of each song
PNG_INCHES = (16, 4)  # the proposal's figure, at PNG_DPI: 1600x400 pixels
PNG_DPI = 100
SEED_MIN_FREE_GIB = 12  # seed's training step at batch 8 needs about 8 GiB
CROP_MODEL_STEPS = 5  # timed steps per crop model, after one untimed warm-up step
SEED_STEPS = 2  # seed: one step to allocate, one timed
SAMPLE_INTERVAL_S = 0.2  # how often a child's memory is sampled
DEMO_SONGS_PER_CLASS = 8  # fallback library without real music: 16 synthesised songs
DEMO_SONG_S = 200.0  # seconds per synthesised song, longer than the 130 s window
DEFAULT_SIZES = "100,300"  # songs; keeps the default run near 6 minutes on 2 cores
MODELS = ("seed", "shortchunk", "multiview", "logreg")
ALL_VIEWS = ("mel", "chroma", "tempogram", "waveform")
MODEL_VIEWS = {
    "seed": ("mel",),
    "shortchunk": ("mel",),
    "multiview": ALL_VIEWS,
    "logreg": ALL_VIEWS,
}
README_ACCURACY = (
    "benchmarks/pretrained.py, 5 artist-grouped folds, honest early stopping (2026-12-06): "
    "real mood (31 tracks) seed 0.528, shortchunk 0.833; real source (49) seed 0.800, "
    "shortchunk 0.983; demo genre seed 0.127, shortchunk 0.256"
)


@dataclass
class ChildRun:
    """A measured child process: wall seconds from launch to exit and its memory."""

    wall_s: float
    launched: float  # time.time() just before launch, to place the child's own marks
    max_rss_mib: float  # largest peak resident set of one process of the tree, sampled
    cpu_s: float  # user + system CPU seconds of the process and its children
    peak_pss_mib: float  # peak of the summed PSS of the process tree, sampled


def main() -> None:
    """Run the benchmark, or one of its measured stages when called with ``--stage``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", type=Path, help="folder of real songs [default: wesnoth]")
    parser.add_argument("--songs", type=int, help="use the first N songs [default: all]")
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help="library sizes for the scaling plot, e.g. 100,1000,10000 (1000: +5 min, 10000: "
        "+47 min and 21 GB of cache on 2 cores)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        spec = json.loads(args.spec.read_text())
        result = STAGES[args.stage](spec)
        Path(spec["result"]).write_text(json.dumps(result))
        return
    sizes = sorted({int(size) for size in args.sizes.split(",") if size.strip()})
    if args.songs is not None and args.songs < 4:
        parser.error("--songs must be at least 4 (training needs two songs per class)")
    if any(size < 1 for size in sizes):
        parser.error("--sizes must be positive song counts")
    with tempfile.TemporaryDirectory(prefix="tunetag-bench-") as tmp:
        results = run_benchmark(args.music, args.songs, sizes, Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = args.out / "pipeline.json", args.out / "pipeline.png"
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    _plot(results, png_path)
    print(format_results(results))
    print(f"\nwrote {json_path} and {png_path}")


def run_benchmark(music: Path | None, n_songs: int | None, sizes: list[int], tmp: Path) -> dict:
    """Measure A, B and the floor on the same songs; return every number as a JSON dict.

    Parameters
    ----------
    music : Path or None
        Folder of real songs; None: Debian's wesnoth music if installed, else a synthesised
        demo library.
    n_songs : int or None
        Use the first ``n_songs`` audio files (sorted by path); None: all.
    sizes : list of int
        Library sizes (songs) of the scaling measurement.
    tmp : Path
        Scratch folder on the filesystem where libraries, caches and runs are made.
    """
    started = time.perf_counter()
    results: dict = {"machine": _machine(), "notes": []}
    library, source = _library(music, n_songs, tmp, results["notes"])
    durations = [_duration_s(path) for path in library]
    results["music"] = {
        "source": source,
        "songs": len(library),
        "audio_s": sum(durations),
        "median_song_s": statistics.median(durations),
    }
    step = _Steps(started)

    step("floor and B's extraction, song by song (decode; decode, log-mel, cache write)")
    cache_seq = tmp / "cache-per-song"
    per_song = _decode_and_extract_per_song(library, cache_seq)

    step("A: the proposal's preparation (load, mel, dB, PNG), one process")
    prep_spec = {"paths": [str(p) for p in library], "png_dir": str(tmp / "png")}
    prep, prep_run = _stage("proposal-prep", prep_spec, tmp)
    step("A: the proposal's scoring (PNG read, seed forward), one process")
    infer, infer_run = _stage("proposal-infer", {"pngs": prep["pngs"]}, tmp)
    for key in ("load_s", "mel_s", "db_s", "png_s", "prep_s", "prep_cpu_s"):
        per_song[f"a_{key}"] = _median(prep["songs"], key)
    per_song["a_infer_s"] = _median(infer["songs"], "infer_s")
    per_song["a_forward_s"] = _median(infer["songs"], "forward_s")

    step("floor and B over a process pool (cold cache, then warm)")
    lib = {"paths": [str(p) for p in library]}
    floor, floor_run = _stage("decode", lib, tmp)
    extract, extract_run = _stage("extract", {**lib, "cache": str(tmp / "c-pool"), "calls": 2}, tmp)
    _, warm_run = _stage("extract", {**lib, "cache": str(tmp / "c-pool"), "calls": 1}, tmp)
    startup_run = _measure([sys.executable, "-c", "import tunetag.cli, tunetag.steps.predict"], tmp)
    first_view, _ = _stage("first-view", {}, tmp)

    step("B: a quick shortchunk run to predict with (2 epochs, arbitrary labels)")
    run_dir = _train_quick_run(library, cache_seq, tmp)
    per_song["b_infer_s"] = statistics.median(_b_infer_per_song(run_dir, library, cache_seq))

    step("B: tunetag predict over the real songs, cold cache then warm")
    predict_cold = _predict(run_dir, tmp / "library", tmp / "c-predict", tmp)
    predict_warm = _predict(run_dir, tmp / "library", tmp / "c-predict", tmp)

    results["per_song"] = per_song
    results["library"] = {
        "floor_pool": _summary(floor_run, floor),
        "a_prep": _summary(prep_run, prep),
        "a_infer": _summary(infer_run, infer),
        "b_extract_cold": _summary(extract_run, extract) | {"cold_call_s": extract["calls_s"][0]},
        "b_extract_warm": {
            "second_call_s": extract["calls_s"][1],
            "new_process_wall_s": warm_run.wall_s,
        },
        "b_predict_startup_s": startup_run.wall_s,
        "b_predict_cold": asdict(predict_cold),
        "b_predict_warm": asdict(predict_warm),
        "extract_imports": extract["imported_modules"],
        "first_view": first_view,
    }

    results["models"] = {}
    for name in MODELS:
        step(f"per model: {name} training step in a fresh process")
        results["models"][name] = _train_step(name, len(library), tmp, results["notes"])

    results["scaling"] = [_scaling_point(len(library), predict_cold, durations)]
    for size in sizes:
        step(f"scaling: tunetag predict over {size} songs (hard links, cold cache)")
        folder = _linked_library(library, size, tmp / f"library-{size}")
        run = _predict(run_dir, folder, tmp / f"c-{size}", tmp)
        shutil.rmtree(tmp / f"c-{size}", ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        cycled = [durations[k % len(durations)] for k in range(size)]
        results["scaling"].append(_scaling_point(size, run, cycled))
    results["machine"]["load_after"] = os.getloadavg()
    results["total_s"] = time.perf_counter() - started
    results["targets"] = evaluate_targets(results)
    return results


class _Steps:
    """Prints each step with the seconds since the benchmark started, on stderr."""

    def __init__(self, started: float) -> None:
        self.started = started

    def __call__(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.0f} s] {text}", file=sys.stderr, flush=True)


def _machine() -> dict:
    import torch

    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        model = names[0].split(":", 1)[1].strip() if names else model
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "available_gib": _available_gib(),
        "load_before": os.getloadavg(),
    }


def _library(music: Path | None, n_songs: int | None, tmp: Path, notes: list) -> tuple:
    """Copy the songs into ``tmp/library`` (hard links are made from these copies)."""
    from tunetag.demo.library import make_demo_library
    from tunetag.library.scan import find_audio

    if music is None and WESNOTH_MUSIC.is_dir():
        music = WESNOTH_MUSIC
    if music is None:
        note = (
            f"no real music found (install Debian's wesnoth-1.16-music or pass --music): "
            f"a synthesised demo library of {2 * DEMO_SONGS_PER_CLASS} songs of "
            f"{DEMO_SONG_S:.0f} s is used instead"
        )
        print(f"note: {note}", file=sys.stderr)
        notes.append(note)
        files = make_demo_library(
            tmp / "demo-music", DEMO_SONGS_PER_CLASS, DEMO_SONG_S, seed=0, progress=False
        )
        source = "synthesised demo library (tunetag.demo.library)"
    else:
        if not music.is_dir():
            sys.exit(f"error: {music}: not a folder")
        files = find_audio(music)
        source = str(music)
    files = sorted(files)[:n_songs] if n_songs else sorted(files)
    if len(files) < 4:
        sys.exit(f"error: {len(files)} audio files found; at least 4 are needed")
    folder = tmp / "library"
    folder.mkdir()
    library = []
    for k, path in enumerate(files):
        copy = folder / f"{k:03d}-{path.name}"
        shutil.copyfile(path, copy)
        library.append(copy)
    return library, source


def _duration_s(path: Path) -> float:
    import av
    import soundfile as sf

    try:
        return float(sf.info(str(path)).duration)
    except (sf.SoundFileError, RuntimeError):
        with av.open(str(path)) as container:
            return float(container.duration or 0) / 1e6


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _clocked(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds (every thread of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def _median(rows: Sequence[dict], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def _decode_and_extract_per_song(library: list[Path], cache: Path) -> dict:
    """Medians over songs of the floor and of B's extraction, measured song after song.

    Each song is decoded as tunetag does (`load_window`), read as its window alone, then
    extracted by `extract_files` (one song: no pool, cold cache), back to back, so that the
    ratio B / floor of a song is taken under the same load of the machine. One log-mel of
    1 s is made first: the imports it pulls in (scipy.fft) are a cost per process, not per song.
    """
    import numpy as np

    from tunetag.audio.decode import load_window
    from tunetag.config import FeatureConfig
    from tunetag.features.extract import extract_files
    from tunetag.features.views import compute_views

    features = FeatureConfig()
    compute_views(("mel",), np.zeros(features.audio.sample_rate, dtype=np.float32), features)
    floor, window, extract = [], [], []
    for path in library:
        floor.append(_clocked(lambda path=path: load_window(path, features.audio)))
        if _libsndfile_reads(path):
            window.append(_timed(lambda path=path: _read_window_only(path, features.audio)))
        extract.append(
            _clocked(lambda path=path: extract_files([path], features, cache, progress=False))
        )
    return {
        "floor_decode_s": statistics.median(wall for wall, _ in floor),
        "floor_decode_cpu_s": statistics.median(cpu for _, cpu in floor),
        "floor_window_only_s": statistics.median(window) if window else None,
        "b_extract_s": statistics.median(wall for wall, _ in extract),
        "b_extract_cpu_s": statistics.median(cpu for _, cpu in extract),
        "b_over_floor": statistics.median(b[0] / f[0] for b, f in zip(extract, floor, strict=True)),
        "b_over_floor_cpu": statistics.median(
            b[1] / f[1] for b, f in zip(extract, floor, strict=True)
        ),
    }


def _libsndfile_reads(path: Path) -> bool:
    """Whether libsndfile reads the file (the seek read is timed for those only)."""
    import soundfile as sf

    try:
        sf.info(str(path))
    except (sf.SoundFileError, RuntimeError):
        return False
    return True


def _read_window_only(path: Path, audio) -> object:
    """Plain decoding: the centred window read by libsndfile with a seek, resampled."""
    import numpy as np
    import soundfile as sf
    import soxr

    info = sf.info(str(path))
    frames = round(audio.window_s * info.samplerate)
    start = max(0, (info.frames - frames) // 2)
    data, rate = sf.read(str(path), start=start, frames=frames, dtype="float32", always_2d=True)
    mono = data @ np.full(data.shape[1], 1.0 / data.shape[1], dtype=np.float32)
    if rate == audio.sample_rate:
        return mono
    return soxr.resample(mono, rate, audio.sample_rate, quality="HQ")


def _train_quick_run(library: list[Path], cache: Path, tmp: Path) -> Path:
    """A shortchunk run on the songs, labelled alternately; accuracy is not the point."""
    import tunetag
    from tunetag.config import RunConfig, TrainConfig
    from tunetag.library.songtable import COLUMNS, SongTable

    table = SongTable.new(library[0].parent / "songs.csv", (*COLUMNS,))
    for k, path in enumerate(library):
        row = dict.fromkeys(COLUMNS, "")
        row |= {"path": path.name, "artist": f"artist {k}", "title": path.stem}
        row["mood"] = ("calm", "lively")[k % 2]
        table.rows.append(row)
    table.write()
    config = RunConfig(train=TrainConfig(epochs=2, patience=2, crops_per_song=4))
    run = tunetag.train(table.csv_path, tmp / "run", config, cache_dir=cache, progress=False)
    return Path(run.path)


def _b_infer_per_song(run_dir: Path, library: list[Path], cache: Path) -> list[float]:
    """Seconds to score each song from its cached views, through predict's own scoring
    (`stream_probabilities` on a warm cache); the first song, which loads the model, is left out."""
    from tunetag.runs.classify import stream_probabilities
    from tunetag.runs.folder import RunFolder

    songs = stream_probabilities(RunFolder(run_dir), library, cache, None)
    next(songs)
    seconds, last = [], time.perf_counter()
    for _ in songs:
        now = time.perf_counter()
        seconds.append(now - last)
        last = now
    return seconds


def _predict(run_dir: Path, folder: Path, cache: Path, tmp: Path) -> ChildRun:
    tunetag = Path(sys.executable).with_name("tunetag")
    command = [str(tunetag)] if tunetag.exists() else [sys.executable, "-m", "tunetag"]
    output = tmp / f"predictions-{folder.name}.csv"
    command += ["predict", str(run_dir), str(folder), "-o", str(output), "--cache", str(cache)]
    return _measure(command, tmp)


def _linked_library(library: list[Path], size: int, folder: Path) -> Path:
    """``size`` hard links to the copies, cycling through them: distinct paths, real files."""
    folder.mkdir()
    for k in range(size):
        source = library[k % len(library)]
        os.link(source, folder / f"{k:05d}-{source.name}")
    return folder


def _scaling_point(size: int, run: ChildRun, durations: list[float]) -> dict:
    return {
        "songs": size,
        "wall_s": run.wall_s,
        "songs_per_s": size / run.wall_s,
        "realtime_x": sum(durations) / run.wall_s,
        "peak_pss_mib": run.peak_pss_mib,
        "max_rss_mib": run.max_rss_mib,
    }


def _summary(run: ChildRun, child: dict) -> dict:
    """Wall seconds of a stage and where its imports ended, from the child's marks."""
    return {
        "wall_s": run.wall_s,
        "startup_s": child["imported"] - run.launched,
        "cpu_s": run.cpu_s,
        "max_rss_mib": run.max_rss_mib,
        "peak_pss_mib": run.peak_pss_mib,
    }


def _train_step(name: str, n_songs: int, tmp: Path, notes: list) -> dict:
    if name == "seed" and _available_gib() < SEED_MIN_FREE_GIB:
        reason = (
            f"seed's training step skipped: {_available_gib():.1f} GiB available, "
            f"it needs about 8 GiB (the check asks for {SEED_MIN_FREE_GIB})"
        )
        print(f"note: {reason}", file=sys.stderr)
        notes.append(reason)
        return {"skipped": reason}
    result, _ = _stage("train-step", {"model": name, "songs": n_songs}, tmp)
    return result


def _available_gib() -> float:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return math.inf
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    return math.inf


# Child processes: every stage runs in a fresh interpreter so that its start-up and peak
# memory are its own. This file imports only the standard library at its top.


def _stage(name: str, spec: dict, tmp: Path) -> tuple[dict, ChildRun]:
    """Run ``pipeline.py --stage name`` on ``spec``; its JSON result and measurements."""
    index = len(list(tmp.glob("stage-*.json")))
    spec_path = tmp / f"stage-{index:02d}-{name}.json"
    result_path = tmp / f"result-{index:02d}-{name}.json"
    spec_path.write_text(json.dumps({**spec, "result": str(result_path)}))
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", name]
    run = _measure([*command, "--spec", str(spec_path)], tmp)
    return json.loads(result_path.read_text()), run


def _measure(command: list[str], tmp: Path) -> ChildRun:
    """Run a command to its end; wall and CPU time (wait4), peak memory (sampled from /proc).

    ``ru_maxrss`` from wait4 is not used for memory: a child started by vfork inherits this
    process's peak resident set at its exec, so it would read at least this process's size.

    Raises
    ------
    RuntimeError
        When the command fails; the message holds the end of its output.
    """
    log_path = tmp / "child.log"
    peak = [0, 0]  # KiB: summed PSS of the tree, largest VmHWM of one process
    done = threading.Event()
    with open(log_path, "wb") as log:
        launched, started = time.time(), time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

        def sample() -> None:
            while not done.wait(SAMPLE_INTERVAL_S):
                pss, hwm = _tree_memory_kib(process.pid)
                peak[:] = max(peak[0], pss), max(peak[1], hwm)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
        done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}:\n{tail}")
    cpu_s = usage.ru_utime + usage.ru_stime
    return ChildRun(wall_s, launched, peak[1] / 1024, cpu_s, peak[0] / 1024)


def _tree_memory_kib(pid: int) -> tuple[int, int]:
    """Summed proportional set size of a process and its descendants, and the largest peak
    resident set (VmHWM) among them, in KiB (0 and 0 off Linux)."""
    pids, total, largest = [pid], 0, 0
    for current in pids:
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                pids.extend(int(child) for child in children)
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            status = Path(f"/proc/{current}/status").read_text()
        except (OSError, ValueError):
            continue
        total += _kib_field(rollup, "Pss:")
        largest = max(largest, _kib_field(status, "VmHWM:"))
    return total, largest


def _kib_field(text: str, name: str) -> int:
    for line in text.splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> float:
    """Reset this process's peak resident set (Linux ``clear_refs``); its RSS now, in MiB.

    Without /proc the peak cannot be reset: ``ru_maxrss`` (the peak so far) is returned, so
    a rise measured from it may read low.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _proc_status_mib("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_mib() -> float:
    """Peak resident set of this process since the last reset, in MiB."""
    try:
        return _proc_status_mib("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _proc_status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def _stage_proposal_prep(spec: dict) -> dict:
    """A's preparation, exactly as proposed, song by song; seconds of each step."""
    import librosa
    import librosa.display
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    imported = time.time()
    png_dir = Path(spec["png_dir"])
    png_dir.mkdir(parents=True, exist_ok=True)
    songs, pngs = [], []
    for k, path in enumerate(spec["paths"]):
        cpu = time.process_time()
        t0 = time.perf_counter()
        y, sr = librosa.load(path, sr=PROPOSAL_SR, duration=PROPOSAL_DURATION_S)
        t1 = time.perf_counter()
        mel = librosa.feature.melspectrogram(y=y, sr=sr)
        t2 = time.perf_counter()
        mel_db = librosa.power_to_db(mel, ref=np.max)
        t3 = time.perf_counter()
        figure = plt.figure(figsize=PNG_INCHES, dpi=PNG_DPI)
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_axis_off()
        librosa.display.specshow(mel_db, sr=sr, ax=axes)
        png = png_dir / f"{k:05d}.png"
        figure.savefig(png, dpi=PNG_DPI)
        plt.close(figure)
        t4 = time.perf_counter()
        pngs.append(str(png))
        songs.append(
            {"load_s": t1 - t0, "mel_s": t2 - t1, "db_s": t3 - t2, "png_s": t4 - t3}
            | {"prep_s": t4 - t0, "prep_cpu_s": time.process_time() - cpu}
        )
    return {"imported": imported, "songs": songs, "pngs": pngs}


def _stage_proposal_infer(spec: dict) -> dict:
    """A's scoring: each PNG read as (1, 4, 400, 1600) in [0, 1] and put through seed."""
    import numpy as np
    import torch
    from PIL import Image

    from tunetag.models.seed import SeedCNN

    imported = time.time()
    model = SeedCNN({"mood": 2}, {"mel": 128}).eval()
    songs = []
    with torch.inference_mode():
        for png in spec["pngs"]:
            t0 = time.perf_counter()
            rgba = np.asarray(Image.open(png).convert("RGBA"))
            image = torch.from_numpy(rgba).permute(2, 0, 1).float().div(255.0)[None]
            t1 = time.perf_counter()
            torch.softmax(model({"image": image})["mood"], dim=1)
            t2 = time.perf_counter()
            songs.append({"infer_s": t2 - t0, "forward_s": t2 - t1})
    return {"imported": imported, "songs": songs}


def _decode_length(path: str) -> int:
    from tunetag.audio.decode import load_window
    from tunetag.config import AudioConfig

    return len(load_window(path, AudioConfig()))


def _stage_decode(spec: dict) -> dict:
    """The floor over a process pool like extract's: decode and window, nothing else."""
    from concurrent.futures import ProcessPoolExecutor

    from tunetag.audio.decode import load_window  # noqa: F401  (imported before the fork)

    imported = time.time()
    workers = min(os.cpu_count() or 1, len(spec["paths"]))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_decode_length, spec["paths"]))
    return {"imported": imported}


def _stage_first_view(spec: dict) -> dict:
    """What a fresh worker pays on its first song beyond the work: the first log-mel of 1 s
    against the second, after importing what extraction imports (librosa loads lazily)."""
    import numpy as np

    import tunetag.features.extract  # noqa: F401  (what a worker has before its first song)
    from tunetag.config import FeatureConfig
    from tunetag.features.views import compute_views

    y = np.zeros(22050, dtype=np.float32)
    features = FeatureConfig()
    first, second = (_clocked(lambda: compute_views(("mel",), y, features)) for _ in range(2))
    return {"first_s": first[0], "first_cpu_s": first[1], "second_s": second[0]}


def _stage_extract(spec: dict) -> dict:
    """B's extraction with its default pool, ``calls`` times over the same cache."""
    from tunetag.config import FeatureConfig
    from tunetag.features.extract import extract_files

    imported = time.time()
    heavy = ("torch", "sklearn", "matplotlib", "librosa", "numba", "scipy", "av", "PIL")
    calls_s = []
    for _ in range(spec["calls"]):
        started = time.perf_counter()
        report = extract_files(spec["paths"], FeatureConfig(), Path(spec["cache"]), progress=False)
        calls_s.append(time.perf_counter() - started)
        if report.errors:
            raise RuntimeError(f"extraction failed: {report.errors}")
    return {
        "imported": imported,
        "calls_s": calls_s,
        "imported_modules": [name for name in heavy if name in sys.modules],
    }


def _stage_train_step(spec: dict) -> dict:
    """Parameters, peak memory and seconds of training steps of one model, fresh process."""
    import numpy as np
    import torch

    from tunetag import models
    from tunetag.config import FeatureConfig, TrainConfig
    from tunetag.library.tasks import Task
    from tunetag.models.inputs import crop_frames
    from tunetag.runs.folder import model_view_rows
    from tunetag.training.augment import augment_batch
    from tunetag.training.loop import task_loss

    name, n_songs = spec["model"], spec["songs"]
    gc.collect()
    baseline = _reset_peak_rss()
    features = FeatureConfig(views=MODEL_VIEWS[name])
    cls = models.model_class(name)
    task = Task("mood", ("calm", "lively"))
    model = models.create(name, {"mood": 2}, model_view_rows(features))
    parameters = sum(p.numel() for p in model.parameters())
    config = TrainConfig(model=name)
    batch = cls.default_batch_size
    if cls.input_kind == "summary":
        rng = np.random.default_rng(0)
        x = rng.normal(size=(n_songs, 2 * sum(model_view_rows(features).values())))
        targets = {"mood": np.eye(2, dtype=np.float32)[np.arange(n_songs) % 2]}
        seconds = _timed(lambda: model.fit_summaries(x, targets, {"mood": False}))
        return {
            "parameters": parameters,
            "batch_size": n_songs,
            "step_s": seconds,
            "per_example_s": seconds / n_songs,
            "steps_per_epoch": 1,
            "epoch_s": seconds,
            "peak_mib": _peak_rss_mib() - baseline,
            "baseline_mib": baseline,
            "method": "closed-form fit (scikit-learn) on the songs' summaries",
        }
    if cls.input_kind == "image":
        inputs = {"image": torch.rand(batch, 4, 400, 1600)}
        examples, steps = n_songs, SEED_STEPS
    else:
        frames = crop_frames(config.crop_s, features.frames_per_second())
        rows = model_view_rows(features)
        inputs = {view: torch.randn(batch, 1, n, frames) for view, n in rows.items()}
        examples, steps = n_songs * config.crops_per_song, 1 + CROP_MODEL_STEPS
    targets = {"mood": torch.eye(2)[torch.arange(batch) % 2]}
    optimizer = torch.optim.AdamW(model.parameters(), lr=cls.default_learning_rate)
    generator = torch.Generator().manual_seed(0)
    model.train()

    def one_step() -> None:
        augmented, soft = augment_batch(inputs, targets, config, generator)
        loss = task_loss(model(augmented)["mood"], soft["mood"], task, None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step_s = [_timed(one_step) for _ in range(steps)][1:]
    step = statistics.median(step_s)
    steps_per_epoch = math.ceil(examples / batch)
    return {
        "parameters": parameters,
        "batch_size": batch,
        "step_s": step,
        "per_example_s": step / batch,
        "steps_per_epoch": steps_per_epoch,
        "epoch_s": step * steps_per_epoch,
        "peak_mib": _peak_rss_mib() - baseline,
        "baseline_mib": baseline,
        "method": f"{len(step_s)} timed steps after 1 untimed, extrapolated to an epoch",
    }


STAGES = {
    "proposal-prep": _stage_proposal_prep,
    "proposal-infer": _stage_proposal_infer,
    "decode": _stage_decode,
    "extract": _stage_extract,
    "first-view": _stage_first_view,
    "train-step": _stage_train_step,
}


# Targets, table and plot.


@dataclass
class Target:
    """One target of issue 6: what is compared, the measured value and the bound."""

    name: str
    measured: float | None
    bound: float
    at_least: bool  # True: measured must be >= bound; False: <= bound
    unit: str = "x"
    note: str = ""

    @property
    def passed(self) -> bool | None:
        """True or False, or None when it was not measured."""
        if self.measured is None or not math.isfinite(self.measured):
            return None
        return self.measured >= self.bound if self.at_least else self.measured <= self.bound


def evaluate_targets(results: dict) -> list[dict]:
    """Every target of issue 6 with its measured value and PASS, MISS or NOT RUN.

    Parameters
    ----------
    results : dict
        What `run_benchmark` measured.

    Returns
    -------
    list of dict
        One per target: name, measured, bound, at_least, unit, note, passed.
    """
    per_song, lib, n = results["per_song"], results["library"], results["music"]["songs"]
    a_prep_wall = lib["a_prep"]["wall_s"]
    floor_pool = lib["floor_pool"]["wall_s"]
    plain = per_song["floor_window_only_s"]
    seed, default = results["models"]["seed"], results["models"]["shortchunk"]
    seed_ok = "skipped" not in seed
    big = [point for point in results["scaling"] if point["songs"] >= 100] or results["scaling"]
    first, last = big[0], big[-1]
    spread = last["songs"] > first["songs"]
    slope = (
        math.log(last["wall_s"] / first["wall_s"]) / math.log(last["songs"] / first["songs"])
        if spread
        else math.nan
    )
    predict = lib["b_predict_cold"]
    cores = results["machine"]["cores"]
    targets = [
        Target(
            "cold extraction / decoding alone, per song (median of ratios)",
            per_song["b_over_floor"],
            1.25,
            False,
            note=f"CPU seconds: {per_song['b_over_floor_cpu']:.2f}x"
            + (
                f"; against plain decoding by libsndfile {per_song['b_extract_s'] / plain:.2f}x"
                if plain
                else ""
            ),
        ),
        Target(
            "cold extraction / decoding alone, whole library on the pool",
            lib["b_extract_cold"]["wall_s"] / floor_pool,
            1.25,
            False,
            note="both from process launch",
        ),
        Target(
            f"cold extraction songs/s / proposal's preparation songs/s, {cores} cores",
            a_prep_wall / lib["b_extract_cold"]["wall_s"],
            5.0,
            True,
            note=(
                f"both from process launch; decoding alone on the pool reaches "
                f"{a_prep_wall / floor_pool:.2f}x"
            ),
        ),
        Target(
            "warm extraction songs/s / proposal's preparation songs/s",
            a_prep_wall / lib["b_extract_warm"]["second_call_s"],
            300.0,
            True,
            note=(
                "second call in one process; from a new process (start-up included) "
                f"{a_prep_wall / lib['b_extract_warm']['new_process_wall_s']:.0f}x"
            ),
        ),
        Target(
            "seed / shortchunk, seconds per training example",
            seed["per_example_s"] / default["per_example_s"] if seed_ok else None,
            50.0,
            True,
            note=(
                f"per epoch over the same songs: {seed['epoch_s'] / default['epoch_s']:.1f}x"
                if seed_ok
                else ""
            ),
        ),
        Target(
            "shortchunk / seed, peak memory of a training step",
            default["peak_mib"] / seed["peak_mib"] if seed_ok else None,
            0.1,
            False,
        ),
        Target(
            "shortchunk cross-validated accuracy >= seed's",
            None,
            1.0,
            True,
            note=f"not measured by this run; {README_ACCURACY}",
        ),
        Target(
            f"predict end to end, {n} real songs, {cores} cores, x real time",
            results["music"]["audio_s"] / predict["wall_s"],
            300.0,
            True,
            note="start-up included, cold cache",
        ),
        Target(
            f"predict peak memory, {last['songs']} songs / {first['songs']} songs",
            last["peak_pss_mib"] / first["peak_pss_mib"] if spread else None,
            1.2,
            False,
            note="flat: within 20 %",
        ),
        Target(
            f"predict cost, |log-log slope - 1|, {first['songs']} to {last['songs']} songs",
            abs(slope - 1),
            0.2,
            False,
            unit="",
            note=f"slope {slope:.2f}; linear is 1, start-up alone makes it a little below",
        ),
    ]
    return [asdict(target) | {"passed": target.passed} for target in targets]


def format_results(results: dict) -> str:
    """The benchmark as a plain-text report: per song, per library, per model, targets.

    Parameters
    ----------
    results : dict
        What `run_benchmark` returned (with ``targets``).
    """
    music, machine, n = results["music"], results["machine"], results["music"]["songs"]
    lines = [
        f"tunetag pipeline benchmark: {n} songs, {music['audio_s'] / 60:.1f} min of audio "
        f"(median song {music['median_song_s']:.0f} s) from {music['source']}",
        f"machine: {machine['cores']} cores ({machine['cpu']}), torch {machine['torch']} "
        f"({machine['torch_threads']} threads); load average {machine['load_before'][0]:.1f} "
        f"before, {machine['load_after'][0]:.1f} after: on a shared machine wall times are "
        "noisy, CPU seconds less so",
        "window: A loads the FIRST 130 s (librosa.load duration=130); tunetag reads the "
        "CENTRED 130 s (by a seek)",
        *(f"note: {note}" for note in results["notes"]),
    ]
    lines += _per_song_lines(results["per_song"])
    lines += _library_lines(results)
    lines += _model_lines(results["models"])
    lines += _scaling_lines(results["scaling"])
    lines += _target_lines(results["targets"])
    lines.append(f"\nbenchmark took {results['total_s'] / 60:.1f} min")
    return "\n".join(lines)


def _per_song_lines(per_song: dict) -> list[str]:
    rows = [
        ("floor: decode the window (tunetag load_window)", "floor_decode_s"),
        ("plain decoding: the window read by libsndfile (libvorbis)", "floor_window_only_s"),
        ("A: librosa.load(sr=22050, duration=130)", "a_load_s"),
        ("A: melspectrogram", "a_mel_s"),
        ("A: power_to_db", "a_db_s"),
        ("A: PNG (specshow + savefig, 1600x400 RGBA)", "a_png_s"),
        ("A: preparation, all of the above", "a_prep_s"),
        ("B: extract_files, one song, cold (decode, log-mel, .npy)", "b_extract_s"),
        ("A: inference (PNG read + seed forward)", "a_infer_s"),
        ("A:   of which seed forward", "a_forward_s"),
        ("B: inference (shortchunk, every 3 s crop)", "b_infer_s"),
    ]
    lines = ["", "Per song (median seconds, one process)", f"  {'':60s} {'wall':>8s} {'CPU':>8s}"]
    for label, key in rows:
        wall, cpu = per_song[key], per_song.get(f"{key[:-2]}_cpu_s")
        if wall is not None:
            lines.append(f"  {label:60s} {wall:8.3f} " + (f"{cpu:8.3f}" if cpu else ""))
    b_over_floor = f"{per_song['b_over_floor']:7.2f}x {per_song['b_over_floor_cpu']:7.2f}x"
    lines += [
        f"  {'A / B extraction':60s} {per_song['a_prep_s'] / per_song['b_extract_s']:7.2f}x "
        f"{per_song['a_prep_cpu_s'] / per_song['b_extract_cpu_s']:7.2f}x",
        f"  {'B extraction / floor (median of per-song ratios)':60s} {b_over_floor}",
        f"  {'A / B inference':60s} {per_song['a_infer_s'] / per_song['b_infer_s']:7.2f}x",
    ]
    return lines


def _library_lines(results: dict) -> list[str]:
    lib, n, audio_s = results["library"], results["music"]["songs"], results["music"]["audio_s"]
    a_prep, a_infer = lib["a_prep"], lib["a_infer"]
    cold, predict = lib["b_extract_cold"], lib["b_predict_cold"]
    rows = [
        ("A: preparation, 1 process", a_prep["wall_s"], a_prep["cpu_s"], a_prep["startup_s"]),
        (
            "A: scoring with seed, 1 process",
            a_infer["wall_s"],
            a_infer["cpu_s"],
            a_infer["startup_s"],
        ),
        (
            "A: end to end (preparation + scoring)",
            a_prep["wall_s"] + a_infer["wall_s"],
            a_prep["cpu_s"] + a_infer["cpu_s"],
            None,
        ),
        (
            "floor: decoding alone, process pool",
            lib["floor_pool"]["wall_s"],
            lib["floor_pool"]["cpu_s"],
            lib["floor_pool"]["startup_s"],
        ),
        ("B: extract_files cold, default pool", cold["wall_s"], cold["cpu_s"], cold["startup_s"]),
        ("B: extract_files warm, second call", lib["b_extract_warm"]["second_call_s"], None, None),
        ("B: extract warm, new process", lib["b_extract_warm"]["new_process_wall_s"], None, None),
        ("B: tunetag predict, cold cache", predict["wall_s"], predict["cpu_s"], None),
        (
            "B: tunetag predict, warm cache",
            lib["b_predict_warm"]["wall_s"],
            lib["b_predict_warm"]["cpu_s"],
            None,
        ),
        ("B: import tunetag.cli, tunetag.steps.predict", lib["b_predict_startup_s"], None, None),
    ]
    lines = [
        "",
        "Whole library (seconds from process launch to exit, start-up included)",
        f"  {'':40s} {'wall':>8s} {'CPU':>8s} {'songs/s':>8s} {'x real':>7s} {'start-up':>9s}",
    ]
    for label, wall, cpu, startup in rows:
        cpu_text = f"{cpu:8.2f}" if cpu is not None else ""
        start = f"{startup:8.2f}" if startup is not None else ""
        lines.append(
            f"  {label:40s} {wall:8.2f} {cpu_text:>8s} {n / wall:8.2f} {audio_s / wall:7.0f} "
            f"{start:>9s}"
        )
    scoring = n * results["per_song"]["b_infer_s"]
    parts = lib["b_predict_startup_s"] + cold["cold_call_s"] + scoring
    lines += [
        f"  predict, cold = start-up {lib['b_predict_startup_s']:.1f} + extraction "
        f"{cold['cold_call_s']:.1f} (extract_files on the pool) + scoring {scoring:.1f} "
        f"({n} x B inference) = {parts:.1f} s (measured {predict['wall_s']:.1f} s)",
        f"  modules B's extraction process imports: {', '.join(lib['extract_imports'])}",
        f"  a worker's first log-mel (1 s of audio): {lib['first_view']['first_s']:.2f} s "
        f"against {lib['first_view']['second_s']:.3f} s for the second (librosa's lazy "
        "imports), once per worker and run",
    ]
    return lines


def _model_lines(found_models: dict) -> list[str]:
    lines = [
        "",
        "Per model (one training step at the default batch size, fresh process)",
        f"  {'model':11s} {'params':>12s} {'batch':>5s} {'s/step':>8s} {'s/example':>10s} "
        f"{'steps/ep':>8s} {'s/epoch':>8s} {'peak MiB':>9s}",
    ]
    for name, found in found_models.items():
        if "skipped" in found:
            lines.append(f"  {name:11s} {found['skipped']}")
            continue
        lines.append(
            f"  {name:11s} {found['parameters']:12,d} {found['batch_size']:5d} "
            f"{found['step_s']:8.3f} {found['per_example_s']:10.5f} {found['steps_per_epoch']:8d} "
            f"{found['epoch_s']:8.2f} {found['peak_mib']:9.0f}"
        )
    lines += [
        "  an example: seed, one song's picture; crop models, one 3 s crop (8 per song per "
        "epoch); logreg, one song (its batch is every song, fitted in closed form)",
        "  s/step: forward, loss, backward, AdamW, with the default augmentation; seed: the "
        "second of 2 steps, others: median of 5 after 1; an epoch extrapolated from it",
        "  peak MiB: rise of the peak resident set (VmHWM, reset through /proc/self/clear_refs "
        "after the imports) over the step; tracemalloc does not see PyTorch's allocations",
    ]
    return lines


def _scaling_lines(scaling: list[dict]) -> list[str]:
    lines = [
        "",
        "Cost against library size (tunetag predict, cold cache, hard links to real files)",
        f"  {'songs':>6s} {'seconds':>9s} {'songs/s':>8s} {'x real':>7s} {'peak PSS MiB':>13s} "
        f"{'max RSS MiB':>12s}",
    ]
    for point in scaling:
        lines.append(
            f"  {point['songs']:6d} {point['wall_s']:9.1f} {point['songs_per_s']:8.2f} "
            f"{point['realtime_x']:7.0f} {point['peak_pss_mib']:13.0f} {point['max_rss_mib']:12.0f}"
        )
    lines.append(
        "  peak PSS: summed over predict and its workers, sampled every 0.2 s; max RSS: the "
        "largest peak resident set of one of them (VmHWM), both sampled"
    )
    return lines


def _target_lines(targets: list[dict]) -> list[str]:
    lines = ["", "Targets (issue 6)"]
    for target in targets:
        verdict = {True: "PASS", False: "MISS", None: "NOT RUN"}[target["passed"]]
        sign = ">=" if target["at_least"] else "<="
        value = "-" if target["measured"] is None else f"{target['measured']:.3g}{target['unit']}"
        lines.append(
            f"  {verdict:7s} {target['name']:62s} {value:>9s}  (target {sign} "
            f"{target['bound']:g}{target['unit']})"
        )
        if target["note"]:
            lines.append(f"          {target['note']}")
    return lines


def _plot(results: dict, path: Path) -> None:
    """Cost and memory of predict against library size, A and the floor extrapolated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scaling = results["scaling"]
    songs = np.array([point["songs"] for point in scaling], dtype=float)
    walls = np.array([point["wall_s"] for point in scaling])
    lib, per_song, n = results["library"], results["per_song"], results["music"]["songs"]
    cores = results["machine"]["cores"] or 1
    a_startup = lib["a_prep"]["startup_s"] + lib["a_infer"]["startup_s"]
    a_per_song = (lib["a_prep"]["wall_s"] + lib["a_infer"]["wall_s"] - a_startup) / n
    span = np.geomspace(min(songs.min(), 10), max(songs.max(), 10000), 50)
    mean_song_s = results["music"]["audio_s"] / n
    figure, (cost, memory) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=90)
    cost.loglog(songs, walls, "o-", color="C0", label="B: tunetag predict, measured")
    cost.loglog(
        span, a_startup + span * a_per_song, "--", color="C3", label="A: proposal, N x per song"
    )
    floor = span * per_song["floor_decode_s"] / cores
    cost.loglog(span, floor, ":", color="C2", label=f"floor: decoding, N x per song / {cores}")
    target = span * mean_song_s / 300
    cost.loglog(span, target, "-.", color="C1", lw=0.8, label="target: 300x real time")
    linear = walls[-1] * span / songs[-1]
    cost.loglog(span, linear, "-", color="0.6", lw=0.8, label="linear through the last point")
    cost.set(xlabel="library size (songs)", ylabel="seconds", title="cost of classifying a library")
    cost.grid(True, which="both", alpha=0.3)
    cost.legend(fontsize=8)
    pss = [point["peak_pss_mib"] for point in scaling]
    memory.semilogx(songs, pss, "o-", label="peak PSS, predict and its workers")
    rss = [point["max_rss_mib"] for point in scaling]
    memory.semilogx(songs, rss, "s--", label="largest peak RSS of one process")
    memory.set(xlabel="library size (songs)", ylabel="MiB", title="memory of tunetag predict")
    memory.set_xlim(cost.get_xlim())
    memory.set_ylim(0, 1.25 * max(pss + rss))
    memory.grid(True, which="both", alpha=0.3)
    memory.legend(fontsize=8, loc="lower right")
    source = results["music"]["source"]
    figure.suptitle(f"{cores} CPU cores; {n} songs from {source}, linked over again", fontsize=9)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


if __name__ == "__main__":
    main()
