"""A run folder is data: a model file that holds code is refused without running it, and a
folder from another version (or a damaged one) is one clear error, never a traceback."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from commands import run_tunetag

from tunetag import __version__, models
from tunetag.config import RunConfig, TrainConfig
from tunetag.errors import ParameterError
from tunetag.library.tasks import Task
from tunetag.runs.folder import VERSION_KEY, RunFolder, model_view_rows

CONFIG = RunConfig(train=TrainConfig(model="shortchunk", tasks=("mood",)))
TASKS = [Task("mood", ("mellow", "not mellow"), False)]


class RunsCode:
    """Unpickling this calls ``Path.touch``: what a model file must never be able to do."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (type(self.marker).touch, (self.marker,))


@pytest.fixture
def run(tmp_path) -> RunFolder:
    """A whole run folder of an untrained `shortchunk`."""
    folder = RunFolder(tmp_path / "run")
    folder.save_config(CONFIG)
    folder.save_tasks(TASKS)
    network = models.create("shortchunk", {"mood": 2}, view_rows=model_view_rows(CONFIG.features))
    folder.save_model(network.state_dict())
    return folder


def test_a_whole_run_folder_loads_and_records_its_version(run):
    assert json.loads(run.config_path.read_text())[VERSION_KEY] == __version__
    assert run.load_config() == CONFIG
    assert not run.load_model().training


def test_a_model_file_that_holds_code_is_refused_without_running_it(run, tmp_path):
    marker = tmp_path / "code-ran"
    run.model_path.write_bytes(pickle.dumps({"conv.weight": RunsCode(marker)}, protocol=2))
    with pytest.raises(ParameterError, match=r"model\.pt: cannot be used by tunetag"):
        run.load_model()
    assert not marker.exists()


@pytest.mark.parametrize(
    ("damage", "file", "message"),
    [
        ("a newer config", "config.json", "made by tunetag 9.0.0"),
        ("config not JSON", "config.json", "not JSON"),
        ("labels not JSON", "labels.json", "not JSON"),
        ("labels of another shape", "labels.json", "cannot be used by tunetag"),
        ("another network's weights", "model.pt", "cannot be used by tunetag"),
        ("a model file cut short", "model.pt", "cannot be used by tunetag"),
        ("no model file", "model.pt", "not a run folder"),
    ],
)
def test_a_run_folder_from_another_version_or_damaged_is_one_clear_error(
    run, damage, file, message
):
    path = run.path / file
    if damage == "a newer config":
        data = json.loads(path.read_text())
        data["train"]["scheduler"] = "cosine"
        data[VERSION_KEY] = "9.0.0"
        path.write_text(json.dumps(data))
    elif damage.endswith("not JSON"):
        path.write_bytes(b"\xff\xfe not json")
    elif damage == "labels of another shape":
        path.write_text(json.dumps({"mood": ["mellow", "not mellow"]}))
    elif damage == "another network's weights":
        torch.save({"features.0.weight": torch.zeros(3)}, path)
    elif damage == "a model file cut short":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        path.unlink()
    with pytest.raises(ParameterError, match=message) as raised:
        run.load_config()
        run.load_tasks()
        run.load_model()
    assert str(raised.value).startswith(str(path.parent)) and "\n" not in str(raised.value)


def test_predict_with_a_foreign_run_folder_says_so_in_one_line(run, tmp_path, write_audio):
    torch.save({"features.0.weight": torch.zeros(3)}, run.model_path)
    song = write_audio("song.wav", duration_s=2.0)
    done = run_tunetag("predict", run.path, song, "-o", tmp_path / "predictions.csv")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {run.model_path}: cannot be used")
    assert not (tmp_path / "predictions.csv").exists()
