"""Any column name a spreadsheet can hold names a task's head, and its weights read back."""

import pytest
import torch
from torch import nn

from tunetag import models
from tunetag.models.heads import ENCODED_PREFIX, TaskHeads, head_key, task_name

ODD_NAMES = ["label", "mood: v2", "a;b", "my mood", "Stimmung (ä)", "v1.2", "type", "keys", "."]


@pytest.mark.parametrize("name", ODD_NAMES + [ENCODED_PREFIX + "00"])
def test_head_key_round_trips(name):
    key = head_key(name)
    assert "." not in key and not hasattr(nn.ModuleDict, key)
    assert task_name(key) == name


def test_plain_names_keep_their_keys():
    """Runs saved before keep their state-dict keys."""
    assert head_key("mood") == "mood" and head_key("genre") == "genre"
    heads = TaskHeads({"mood": nn.Linear(2, 2)})
    assert list(heads.state_dict()) == ["mood.weight", "mood.bias"]


def test_task_heads_behave_like_a_dict_of_task_names():
    heads = TaskHeads({name: nn.Linear(3, 2) for name in ODD_NAMES})
    assert list(heads) == ODD_NAMES == heads.keys()
    assert [task for task, _ in heads.items()] == ODD_NAMES
    assert "v1.2" in heads and "v1" not in heads
    assert isinstance(heads["keys"], nn.Linear)
    del heads["type"]
    assert "type" not in heads and len(heads) == len(ODD_NAMES) - 1


@pytest.mark.parametrize(
    ("name", "views"),
    [("seed", {"mel": 128}), ("shortchunk", {"mel": 32}), ("multiview", {"mel": 32, "chroma": 12})],
)
def test_every_network_answers_for_odd_task_names(name, views):
    tasks = {"label": 2, "mood: v2": 3, "Stimmung (ä)": 2}
    model = models.create(name, tasks, views)
    again = models.create(name, tasks, views)
    again.load_state_dict(model.state_dict())
    model.eval()
    again.eval()
    if name == "seed":
        inputs = {"image": torch.rand(1, 4, 400, 1600)}
    else:
        inputs = {view: torch.randn(2, 1, rows, 64) for view, rows in views.items()}
    with torch.no_grad():
        logits, reloaded = model(inputs), again(inputs)
    assert list(logits) == list(tasks)
    for task, k in tasks.items():
        assert logits[task].shape[-1] == k
        assert torch.equal(logits[task], reloaded[task])
