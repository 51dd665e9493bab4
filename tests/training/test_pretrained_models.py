"""The pretrained musicnn models train, save, load and predict like any other model."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from tunetag import models
from tunetag.cli import app
from tunetag.config import (
    MUSICNN_FEATURES,
    AudioConfig,
    FeatureConfig,
    MelConfig,
    RunConfig,
    TrainConfig,
)
from tunetag.errors import ParameterError
from tunetag.library.predictions import read_predictions
from tunetag.pretrained.taggers import load_tagger
from tunetag.steps.predict import predict
from tunetag.steps.train import train


@pytest.fixture(scope="module")
def library(mood_library):
    """8 short demo songs, mood from the folders."""
    root = mood_library("library", songs_per_class=4, duration_s=7.0, seed=5)
    return {"root": root, "songs": root / "songs.csv", "cache": root / "cache"}


def test_the_probe_reads_the_embedding_view_at_16_khz_and_predicts(library, tmp_path):
    config = RunConfig(
        features=FeatureConfig(audio=AudioConfig(window_s=60.0)),
        train=TrainConfig(model="musicnn-probe", tasks=("mood",), folds=2),
    )
    run = train(library["songs"], tmp_path / "run", config, cache_dir=library["cache"],
                progress=False)  # fmt: skip
    saved = run.load_config().features
    assert saved.views == ("musicnn",)
    assert saved.audio.sample_rate == 16000 and saved.audio.window_s == 60.0
    assert run.load_metrics()["songs"]["scored"] == 8
    predict(run.path, [library["root"] / "music"], tmp_path / "p.csv",
            cache_dir=library["cache"], progress=False)  # fmt: skip
    assert len(read_predictions(tmp_path / "p.csv").songs) == 8


def test_finetuning_trains_the_back_end_on_cached_patches_and_predicts(library, tmp_path):
    config = RunConfig(
        train=TrainConfig(model="musicnn-finetune", tasks=("mood",), epochs=1, crops_per_song=2)
    )
    run = train(library["songs"], tmp_path / "run", config, cache_dir=library["cache"],
                progress=False)  # fmt: skip
    assert run.load_config().features == FeatureConfig(views=("musicnn-msd-pooled",))
    trained = run.load_model()
    after, before = trained.network.state_dict(), load_tagger("MSD_musicnn").state_dict()
    assert not any(name.startswith(("timbral", "mid", "input_norm")) for name in after)
    assert not torch.equal(after["dense.weight"], before["dense.weight"])
    assert set(trained.heads) == {"mood"}
    predict(run.path, [library["root"] / "music"], tmp_path / "p.csv",
            cache_dir=library["cache"], progress=False)  # fmt: skip
    assert len(read_predictions(tmp_path / "p.csv").songs) == 8


def test_crop_models_refuse_the_patch_view():
    with pytest.raises(ParameterError, match="one column per 3 s"):
        models.run_features("shortchunk", FeatureConfig(views=("mel", "musicnn")))
    logreg = models.run_features("logreg", FeatureConfig(views=("mel", "musicnn")))
    assert logreg.views == ("mel", "musicnn")


@pytest.mark.parametrize(
    ("model", "features", "message"),
    [
        ("musicnn-finetune", FeatureConfig(), "no view of this run"),  # its pooled features
        ("shortchunk", FeatureConfig(views=("chroma",)), "no view of this run"),
        ("shortchunk", MUSICNN_FEATURES, "this run's mel is on the 'logc' scale"),
    ],
)
def test_gain_is_refused_where_it_adds_no_db(library, tmp_path, model, features, message):
    config = RunConfig(features, TrainConfig(model=model, augment_gain_db=3.0))
    with pytest.raises(ParameterError, match=f"adds dB, and {message}"):
        train(library["songs"], tmp_path / "run", config, progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "features",
    [
        FeatureConfig(audio=AudioConfig(sample_rate=44100)),
        FeatureConfig(mel=MelConfig(n_mels=64)),
        FeatureConfig(views=("mel", "chroma")),
        FeatureConfig(mel=MelConfig(hop_length=256)),
    ],
)
@pytest.mark.parametrize("name", ["musicnn-probe", "musicnn-finetune"])
def test_the_python_api_refuses_features_a_pretrained_model_would_ignore(name, features):
    with pytest.raises(ParameterError, match="reads features of its own"):
        models.run_features(name, features)


@pytest.mark.parametrize("name", ["musicnn-probe", "musicnn-finetune"])
def test_defaults_and_a_saved_runs_own_features_are_accepted(name):
    asked = FeatureConfig(audio=AudioConfig(window_s=60.0))
    read = models.run_features(name, asked)
    saved = RunConfig.from_json(RunConfig(features=read).to_json()).features
    assert models.run_features(name, saved) == read
    assert models.run_features(name, FeatureConfig()).mel == read.mel


def test_train_refuses_them_before_writing_anything(library, tmp_path):
    config = RunConfig(
        features=FeatureConfig(mel=MelConfig(n_mels=64)),
        train=TrainConfig(model="musicnn-probe"),
    )
    with pytest.raises(ParameterError, match="reads features of its own"):
        train(library["songs"], tmp_path / "run", config, progress=False)
    assert not (tmp_path / "run").exists()


def test_the_command_line_says_so_in_one_line(library, tmp_path):
    done = CliRunner().invoke(
        app,
        ["train", str(library["songs"]), "-o", str(tmp_path / "r"), "--model", "musicnn-probe",
         "--n-mels", "64"],
    )  # fmt: skip
    assert done.exit_code == 1
    assert done.output.startswith("error: ") and done.output.count("\n") == 1
    assert "leave out --sample-rate, --n-mels and --views" in done.output
    assert not (tmp_path / "r").exists()
