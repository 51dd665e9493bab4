"""The pretrained tagger's own scores of its 50 tags, per song (``tunetag tagger-scores``).

Useful before any labelling (which songs does the Million Song Dataset tagger call
``Mellow`` or ``chill``?) and as a zero-shot baseline to set a trained run beside. Each
song's 130 s window is cut into 3 s patches without overlap, as the original tagger does;
a song's score for a tag is the mean over its patches of the tag's probability.
"""

from __future__ import annotations

import csv
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tunetag.config import DEFAULT_TAGGER, MUSICNN_FEATURES, default_cache_dir
from tunetag.errors import AudioDecodeError
from tunetag.features.extract import extract_files
from tunetag.files.atomic import atomic_open
from tunetag.library.scan import collect_audio
from tunetag.pretrained.networks import PATCH_BATCH, cut_patches
from tunetag.pretrained.taggers import load_tagger, tag_names
from tunetag.runtime.progress import progress_bar

TOP_TAGS = 3  # tags named in the CSV's ``top`` column


@dataclass
class TagScores:
    """Mean tag probabilities of the songs that decoded; the reasons for those that did not."""

    tagger: str
    tags: tuple[str, ...]
    paths: list[Path]  # songs scored, in input order
    scores: np.ndarray  # (songs, tags), probabilities in [0, 1]
    errors: dict[Path, str]  # songs skipped -> reason

    def top(self, k: int = TOP_TAGS) -> list[list[str]]:
        """Each song's ``k`` most probable tags, most probable first."""
        return [[self.tags[j] for j in np.argsort(-row, kind="stable")[:k]] for row in self.scores]

    def __repr__(self) -> str:
        """The sizes, not every path and score."""
        return (
            f"TagScores(tagger={self.tagger!r}, songs={len(self.paths)}, tags={len(self.tags)}, "
            f"skipped={len(self.errors)})"
        )


def tag_scores(
    paths: list[Path],
    *,
    tagger: str = DEFAULT_TAGGER,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> TagScores:
    """Score songs with a pretrained tagger (see `tunetag.pretrained.taggers.TAGGERS`).

    The log-mel the tagger expects is extracted in parallel and cached like any view.

    Raises
    ------
    AudioDecodeError
        When no song could be read.
    """
    names = tag_names(tagger)
    network = load_tagger(tagger)
    report = extract_files(
        paths,
        MUSICNN_FEATURES,
        Path(cache_dir) if cache_dir else default_cache_dir(),
        executor=executor,
        progress=progress,
    )
    scored = [path for path in paths if path in report.ok]
    if not scored:
        raise AudioDecodeError(f"none of the {len(paths)} songs could be read; nothing to score")
    scores = np.empty((len(scored), len(names)), dtype=np.float32)
    songs = progress_bar(scored, desc="tagging", unit="song", disable=not progress)
    with torch.no_grad():
        for k, path in enumerate(songs):
            patches = torch.from_numpy(cut_patches(np.load(report.ok[path]["mel"])))
            probabilities = torch.cat(
                [torch.sigmoid(network(batch)) for batch in patches.split(PATCH_BATCH)]
            )
            scores[k] = probabilities.mean(dim=0).numpy()
    return TagScores(tagger, names, scored, scores, dict(report.errors))


def write_tag_scores(result: TagScores, output_csv: str | Path) -> None:
    """Write ``path, top, <tag>...``: the most probable tags, then every tag's probability."""
    with atomic_open(output_csv) as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "top", *result.tags])
        for path, top, row in zip(result.paths, result.top(), result.scores, strict=True):
            writer.writerow([str(path), "; ".join(top), *(f"{value:.4f}" for value in row)])


def tagger_scores(
    inputs: list[str | Path],
    output_csv: str | Path = "tags.csv",
    *,
    tagger: str = DEFAULT_TAGGER,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> TagScores:
    """Score the songs named by ``inputs`` (files, folders, song CSVs) and write the CSV."""
    result = tag_scores(
        collect_audio(inputs),
        tagger=tagger,
        cache_dir=cache_dir,
        executor=executor,
        progress=progress,
    )
    write_tag_scores(result, output_csv)
    return result
