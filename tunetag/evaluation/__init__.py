"""How well a trained model does: song-level metrics, confusion matrices and curves."""

from tunetag.evaluation.metrics import classification_metrics
from tunetag.evaluation.plots import plot_confusion, plot_curves

__all__ = ["classification_metrics", "plot_confusion", "plot_curves"]
