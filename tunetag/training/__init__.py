"""Training: artist-grouped splits and folds, datasets of cached views, the loop and its
checkpoints. Scoring songs with the trained network is `tunetag.runs.probabilities`."""

from tunetag.training.datasets import SongExample, TrainCrops
from tunetag.training.loop import fit
from tunetag.training.results import FitResult
from tunetag.training.splits import grouped_stratified_folds, grouped_stratified_split

__all__ = [
    "FitResult",
    "SongExample",
    "TrainCrops",
    "fit",
    "grouped_stratified_folds",
    "grouped_stratified_split",
]
