"""Properties that hold for any input hypothesis can think of: the song CSV reads back what
was written and refuses anything else with a LabelFileError; every view of any samples is
finite and of the documented shape, and samples that are not audio are refused."""

from __future__ import annotations

import csv
import io
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tunetag.config import MAX_SAMPLE_MAGNITUDE, AudioConfig, FeatureConfig, MelConfig
from tunetag.errors import LabelFileError, ParameterError
from tunetag.features.views import compute_views, view_rows
from tunetag.library.songtable import SongTable, path_key

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FRAME_VIEWS = ("mel", "chroma", "tempogram", "waveform")
FEATURES = FeatureConfig(audio=AudioConfig(sample_rate=8000), mel=MelConfig(n_mels=32))

header_names = st.text(min_size=1, max_size=12).map(str.strip).filter(bool)
cells = st.text(max_size=30)  # any text: commas, quotes, newlines, any script
path_cells = st.text(string.ascii_letters + string.digits + " _-./'\"é", min_size=1, max_size=20)


@st.composite
def song_tables(draw):
    """Columns (``path`` among them) and rows of distinct, non-blank paths."""
    others = draw(st.lists(header_names, max_size=5, unique=True).filter(lambda c: "path" not in c))
    columns = others[:]
    columns.insert(draw(st.integers(0, len(others))), "path")
    paths = draw(st.lists(path_cells.filter(str.strip), max_size=8, unique_by=path_key))
    rows = [{**{c: draw(cells) for c in others}, "path": path} for path in paths]
    return columns, rows


@SETTINGS
@given(table=song_tables())
def test_a_written_csv_reads_back_cell_for_cell(tmp_path, table):
    columns, rows = table
    path = tmp_path / "songs.csv"
    SongTable(path, list(columns), [dict(row) for row in rows]).write()
    found = SongTable.read(path, check_files=False)
    assert found.columns == columns
    assert found.rows == rows


@SETTINGS
@given(data=st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_a_table_or_one_label_file_error(tmp_path, data):
    path = tmp_path / "songs.csv"
    path.write_bytes(data)
    try:
        table = SongTable.read(path, check_files=False)
    except LabelFileError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc).strip()
        return
    assert "path" in table.columns and all(row["path"].strip() for row in table.rows)


@SETTINGS
@given(column=st.lists(cells, min_size=1, max_size=10))
def test_any_label_column_gives_labels_or_one_label_file_error(tmp_path, column):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["path", "mood"])
    writer.writerows([f"song{k}.ogg", cell] for k, cell in enumerate(column))
    path = tmp_path / "songs.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    table = SongTable.read(path, check_files=False)
    try:
        sets = table.label_sets("mood")
    except LabelFileError:
        return
    assert len({label for found in sets.values() for label in found}) >= 2
    assert all(label == label.strip() and label for found in sets.values() for label in found)


samples = hnp.arrays(
    np.float32,
    st.integers(1, 6000),
    elements=st.floats(-MAX_SAMPLE_MAGNITUDE, MAX_SAMPLE_MAGNITUDE, width=32),
)


@SETTINGS
@given(y=samples)
def test_every_view_of_any_samples_is_finite_and_of_its_shape(y):
    views = compute_views(FRAME_VIEWS, y, FEATURES)
    frames = 1 + len(y) // FEATURES.mel.hop_length
    for name, array in views.items():
        assert array.dtype == np.float32
        assert array.shape == (view_rows(name, FEATURES), frames), name
        assert np.isfinite(array).all(), name


@SETTINGS
@given(
    y=samples.filter(lambda y: len(y) > 1),
    bad=st.sampled_from([np.nan, np.inf, -np.inf, 1e5, -3e38]),
    where=st.floats(0, 1, exclude_max=True),
)
def test_samples_that_are_not_audio_are_refused(y, bad, where):
    y = y.copy()
    y[int(where * len(y))] = bad
    assume(not np.isfinite(bad) or abs(bad) > MAX_SAMPLE_MAGNITUDE)
    with pytest.raises(ParameterError, match="non-finite|not audio"):
        compute_views(FRAME_VIEWS, y, FEATURES)
