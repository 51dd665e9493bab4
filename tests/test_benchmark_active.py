"""benchmarks/active.py replays every order against the page's own live model and queue
(it imports them, so a change to their signatures must not leave the benchmark broken)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import active  # noqa: E402


def test_every_order_replays_to_the_whole_pool_and_reaches_the_ceiling():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    z = rng.normal(size=(40, 6)) + 3.0 * y[:, None]  # two well-separated classes
    groups = np.arange(40)
    found = active.one_repeat(
        z, y, ["calm", "tense"], groups, 0.3, 4, 0, lambda _: None, active.ORDERS
    )
    assert set(found["orders"]) == set(active.ORDERS)
    for order, result in found["orders"].items():
        counts = [count for count, _ in result["curve"]]
        assert counts[-1] == found["pool"], order
        assert result["labels_to_95"] is not None, order  # separable: far before the pool
        assert len(set(result["first_labels"])) == len(result["first_labels"]), order


def test_paired_differences_compare_teach_with_each_order_repeat_by_repeat():
    runs = [{"pool": 50}, {"pool": 50}, {"pool": 50}]
    orders = {
        "file": {"labels_to_95": [40, 45, None]},  # never: counted as the pool, 50
        "random": {"labels_to_95": [20, 30, 40]},
        "teach": {"labels_to_95": [20, 25, 30]},
    }
    lines = active.paired_differences({"runs": runs, "orders": orders})
    assert lines[0].startswith("teach minus file: -20.0 labels")
    assert lines[1].startswith("teach minus random: -5.0 labels (95 % interval -17.4 to +7.4")
    assert "3 paired repeats" in lines[1] and len(lines) == 2
