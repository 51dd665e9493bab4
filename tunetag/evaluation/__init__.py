"""How well a trained model does: song-level metrics, confusion matrices, curves, comparisons."""

from tunetag.evaluation.metrics import (
    accuracy_interval,
    classification_metrics,
    multilabel_metrics,
    summarise_folds,
)
from tunetag.evaluation.plots import (
    plot_comparison,
    plot_confusion,
    plot_curves,
    plot_fold_curves,
)

__all__ = [
    "accuracy_interval",
    "classification_metrics",
    "multilabel_metrics",
    "plot_comparison",
    "plot_confusion",
    "plot_curves",
    "plot_fold_curves",
    "summarise_folds",
]
