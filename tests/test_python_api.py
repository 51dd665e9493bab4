"""The Python API as the README shows it: every step a callable of the package, listed by
`dir` and `help`, never replaced by a module, and its result printed in a line."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import pydoc
import re
import shutil
import sys
import typing
from pathlib import Path

import numpy as np
import pytest
from commands import fresh_python

import tunetag
from tunetag.features.extract import ExtractReport
from tunetag.library.scan import ScanReport
from tunetag.library.songtable import SongTable
from tunetag.library.tagging import TagReport
from tunetag.pretrained.scores import TagScores
from tunetag.runs.folder import RunFolder
from tunetag.steps.predict import PredictSummary
from tunetag.steps.similar import LibrarySong, SimilarSongs

STEPS = dict(tunetag._STEPS)  # step name -> the module that defines it
README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_step_is_listed_by_all_and_named_by_the_docstring():
    assert set(STEPS) <= set(tunetag.__all__)
    for step in STEPS:
        assert f"`{step}`" in tunetag.__doc__, step


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_step_is_its_function_after_its_module_is_imported(step):
    module = importlib.import_module(STEPS[step])
    assert getattr(tunetag, step) is getattr(module, step)
    assert inspect.isfunction(getattr(tunetag, step))


def test_every_step_module_imported_first_leaves_every_step_callable():
    # a fresh interpreter: the step modules load before any step is looked up
    code = (
        "import importlib, inspect, sys\n"
        f"steps = {STEPS!r}\n"
        "for module in steps.values(): importlib.import_module(module)\n"
        "import tunetag\n"
        "for step, module in steps.items():\n"
        "    assert inspect.isfunction(getattr(tunetag, step)), (step, getattr(tunetag, step))\n"
        "    assert getattr(tunetag, step) is getattr(sys.modules[module], step), step\n"
        "print('ok')\n"
    )
    out = fresh_python(code)
    assert out.strip() == "ok"


def test_no_submodule_of_the_package_is_named_like_a_step():
    # `import tunetag.<step> as m` would hand back the step, not the module
    submodules = {info.name for info in pkgutil.iter_modules(tunetag.__path__)}
    assert submodules & set(STEPS) == set()


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_submodule_named_like_a_step_does_not_replace_it(step, tmp_path):
    (tmp_path / f"{step}.py").write_text("SHADOW = True\n")
    name = f"tunetag.{step}"
    tunetag.__path__.append(str(tmp_path))
    try:
        with pytest.warns(ImportWarning, match=f"child module '{step}'"):
            importlib.import_module(name)
        assert sys.modules[name].SHADOW
        assert getattr(tunetag, step) is getattr(importlib.import_module(STEPS[step]), step)
    finally:
        tunetag.__path__.remove(str(tmp_path))
        sys.modules.pop(name, None)


def test_other_attributes_are_still_set_and_missing_ones_still_fail():
    with pytest.raises(AttributeError, match="no attribute 'no_such_step'"):
        tunetag.no_such_step  # noqa: B018
    with pytest.raises(ImportError):
        from tunetag import no_such_step  # noqa: F401
    assert tunetag.steps is sys.modules["tunetag.steps"]  # submodules bind as usual


def test_dir_lists_every_step_before_any_is_loaded():
    code = (
        "import sys, tunetag\n"
        "print(' '.join(sorted(set(dir(tunetag)) & set(tunetag._STEPS))))\n"
        "print(' '.join(m for m in ('torch', 'sklearn', 'tunetag.steps') if m in sys.modules))\n"
    )
    out = fresh_python(code)
    listed, loaded = out.split("\n")[:2]
    assert listed.split() == sorted(STEPS)
    assert loaded.split() == []  # `dir` is as light as `import tunetag`


def test_help_shows_every_step_with_its_parameters():
    text = pydoc.render_doc(tunetag, renderer=pydoc.plaintext)
    for step in STEPS:
        parameters = list(inspect.signature(getattr(tunetag, step)).parameters)
        assert re.search(rf"^    {step}\({parameters[0]}\b", text, re.MULTILINE), step
    assert "__getattr__" not in text


def _results() -> dict[type, tuple[object, str]]:
    """Each step's result type: one holding 1000 songs, and the line it prints as."""
    songs = [Path(f"/music/song{k}.flac") for k in range(1000)]
    table = SongTable("songs.csv", rows=[{"path": str(path)} for path in songs])
    return {
        ScanReport: (
            ScanReport(table, added=990, kept=10, missing=2),
            "ScanReport(csv_path='songs.csv', songs=1000, added=990, kept=10, missing=2)",
        ),
        ExtractReport: (
            ExtractReport(
                ok={path: {"mel": path.with_suffix(".npy")} for path in songs[1:]},
                errors={songs[0]: "not audio"},
                computed=900,
                cached=99,
            ),
            "ExtractReport(songs_ok=999, songs_failed=1, computed=900, cached=99)",
        ),
        RunFolder: (RunFolder("runs/mood"), "RunFolder('runs/mood')"),
        PredictSummary: (
            PredictSummary(Path("predictions.csv"), 998, {songs[0]: "empty", songs[1]: "empty"}),
            "PredictSummary(csv_path='predictions.csv', scored=998, skipped=2)",
        ),
        TagReport: (
            TagReport(
                "write",
                changes={path: {"mood": (None, "mellow")} for path in songs[3:]},
                unchanged=1,
                skipped={songs[0]: "missing"},
                below_min_prob=2,
                undo_log=Path("undo.jsonl"),
            ),
            "TagReport(mode='write', changed=997, unchanged=1, skipped=1, below_min_prob=2, "
            "undo_log='undo.jsonl')",
        ),
        TagScores: (
            TagScores("MSD_musicnn", ("rock", "pop"), songs, np.zeros((1000, 2)), {}),
            "TagScores(tagger='MSD_musicnn', songs=1000, tags=2, skipped=0)",
        ),
        SimilarSongs: (
            SimilarSongs(
                [LibrarySong(path) for path in songs[:20]], [0.5] * 20, 999, {songs[0]: "x"}
            ),
            "SimilarSongs(found=20, compared=999, skipped=1)",
        ),
    }


def test_each_result_prints_as_one_short_line_whatever_the_library():
    for result, line in _results().values():
        assert repr(result) == line


def test_every_result_type_of_a_step_has_its_line_checked():
    # a new step returning a class of tunetag's must join _results, so its repr is looked at
    returned = {typing.get_type_hints(getattr(tunetag, step))["return"] for step in STEPS}
    own = {kind for kind in returned if getattr(kind, "__module__", "").startswith("tunetag.")}
    assert own == set(_results())


def _readme_python() -> str:
    section = README.read_text(encoding="utf-8").split("\n## Python\n", 1)[1]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0]


def test_the_readme_python_section_runs_as_written(
    small_library, tmp_path, monkeypatch, capsys
):  # fmt: skip
    shutil.copytree(small_library / "music", tmp_path / "Music")
    monkeypatch.chdir(tmp_path)
    served = []

    def label_until_ctrl_c(*args, **kwargs):
        """The page serves until Ctrl+C: the call must fit `label`, then Ctrl+C comes."""
        served.append(inspect.signature(label).bind(*args, **kwargs))
        raise KeyboardInterrupt

    label = tunetag.label
    monkeypatch.setattr(tunetag, "label", label_until_ctrl_c)
    exec(compile(_readme_python(), str(README), "exec"), {"__name__": "readme"})

    assert len(served) == 1
    printed = capsys.readouterr().out
    assert "RunFolder('runs/mood')\n" in printed
    assert "PredictSummary(csv_path='predictions.csv', scored=8, skipped=0)\n" in printed
    assert "TagReport(mode='write', changed=8," in printed
    assert " object at 0x" not in printed
    assert (tmp_path / "runs/mood/model.pt").is_file()
    assert (tmp_path / "tags.csv").is_file()
    assert sorted(p.name for p in (tmp_path / "Playlists/mood").iterdir()) == [
        "mellow.m3u8",
        "not mellow.m3u8",
    ]
    assert (tmp_path / "predictions-report.html").is_file()
    assert tunetag.tag("predictions.csv", progress=False).changed == 8  # undone: all to tag again
