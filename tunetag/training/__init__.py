"""Training: tasks, artist-grouped splits and folds, datasets of cached views, the loop."""

from tunetag.library.tasks import Task
from tunetag.training.datasets import SongExample, TrainCrops, crop_frames, song_inputs
from tunetag.training.loop import FitResult, fit, pick_device, predict_songs
from tunetag.training.splits import grouped_stratified_folds, grouped_stratified_split

__all__ = [
    "FitResult",
    "SongExample",
    "Task",
    "TrainCrops",
    "crop_frames",
    "fit",
    "grouped_stratified_folds",
    "grouped_stratified_split",
    "pick_device",
    "predict_songs",
    "song_inputs",
]
