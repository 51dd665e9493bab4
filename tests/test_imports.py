"""Each step's module imports on its own, first, in a fresh interpreter (no import cycles)."""

from __future__ import annotations

import pytest
from commands import fresh_python


@pytest.mark.parametrize(
    "module",
    [
        "tunetag.library.predictions",
        "tunetag.library.playlists",
        "tunetag.library.tagging",
        "tunetag.labelapp",
        "tunetag.evaluation.report",
    ],
)
def test_a_module_imports_first_on_its_own(module):
    fresh_python(f"import {module}")


def test_extraction_workers_do_not_import_plotting_or_the_network():
    # a fresh worker pays for every import before its first song
    code = (
        "import sys, tunetag.features.extract; "
        "print(' '.join(m for m in ('matplotlib', 'PIL', 'torch', 'sklearn') if m in sys.modules))"
    )
    out = fresh_python(code)
    assert out.split() == []


def test_predict_does_not_import_scikit_learn():
    # it only scores: scikit-learn's second of imports is for the steps that fit
    code = "import sys, tunetag.steps.predict, tunetag.models; print('sklearn' in sys.modules)"
    out = fresh_python(code)
    assert out.strip() == "False"
