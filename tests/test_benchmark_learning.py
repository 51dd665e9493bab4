"""benchmarks/learning.py pairs auto with every other model fold by fold and says, per real
set, whether the issue's aims are met (the figures the README quotes come from these)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import learning  # noqa: E402


def _row(pooled: float, folds: list[float], repeats=True) -> dict:
    row = {"balanced_accuracy": pooled, "fold_balanced_accuracy": folds}
    return row | {"repeats": [pooled]} if repeats else row


def _results(models: dict, kind: str = "mood") -> dict:
    found = {"set": kind, "tasks": ["mood"], "models": {m: {"mood": r} for m, r in models.items()}}
    return {"sets": {f"{kind}@130s": found}}


def test_auto_is_paired_with_each_model_fold_by_fold():
    found = _results({
        "auto": _row(0.80, [0.8, 0.9, 0.7]),
        "plain": _row(0.70, [0.7, 0.7, 0.7]),
        "old": _row(0.50, [0.5, 0.5, 0.5], repeats=False),  # an earlier format's row
        "once": _row(0.60, [0.6]),  # one fold: other splits
    })["sets"]["mood@130s"]  # fmt: skip
    paired = learning.paired_differences(found, "mood")
    assert set(paired) == {"plain"}
    plain = paired["plain"]
    assert plain["pooled"] == pytest.approx(0.10)
    assert plain["fold_mean"] == pytest.approx(0.10)
    # folds' differences 0.1, 0.2, 0.0: sd 0.1, t(0.975, 2) = 4.303
    half = 4.3027 * 0.1 / 3**0.5
    assert plain["interval_95"] == pytest.approx([0.10 - half, 0.10 + half], abs=1e-3)
    assert plain["folds"] == 3


def test_the_aims_are_judged_against_the_better_baseline_and_every_model():
    results = _results({
        "auto": _row(0.72, [0.70, 0.72, 0.74, 0.72]),
        "plain": _row(0.70, [0.69, 0.71, 0.72, 0.70]),
        "hand": _row(0.60, [0.60, 0.60, 0.60, 0.60]),
        "probe": _row(0.80, [0.80, 0.81, 0.82, 0.80]),  # above auto in every fold
    })  # fmt: skip
    (line,) = learning.target_lines(results)
    assert line.startswith("mood@130s mood: auto minus the better baseline (plain) +0.020")
    assert "the aim of +0.05 not met" in line
    assert line.endswith("below another model by more than the folds' noise: probe")


def test_the_demo_is_not_judged_by_the_aims():
    results = _results({"auto": _row(1.0, [1.0, 1.0]), "plain": _row(0.5, [0.5, 0.5])}, "demo")
    assert learning.target_lines(results) == []
    assert "| demo@130s | mood | plain | +0.500 |" in "\n".join(learning._paired_markdown(results))
