"""More like this on generated songs of two moods: the known cluster comes back nearest
first, the lists keep their rules, playlists move as asked, and mistakes are one line."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tunetag.cli import app
from tunetag.library.songtable import SongTable
from tunetag.steps.similar import like_playlist, path_playlist, similar

runner = CliRunner()


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One feature cache for the module: the songs' views are computed once."""
    return tmp_path_factory.mktemp("similar-cache")


@pytest.fixture(scope="module")
def moods(small_library) -> dict[str, list[Path]]:
    """The eight songs of `small_library` (four of each mood) by mood, absolute paths."""
    table = SongTable.read(small_library / "songs.csv")
    found: dict[str, list[Path]] = {}
    for row in table.rows:
        found.setdefault(row["mood"], []).append(table.audio_path(row).resolve())
    return found


def library_csv(folder: Path, songs: list[Path], artists: list[str] | None = None) -> Path:
    """A song CSV naming ``songs`` by absolute path (so the module's cache serves them)."""
    path = folder / "library.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "artist"])
        for k, song in enumerate(songs):
            writer.writerow([str(song), artists[k] if artists else f"artist {k}"])
    return path


def every_song(moods) -> list[Path]:
    return moods["mellow"] + moods["not mellow"]


def playlist_songs(m3u8: Path) -> list[Path]:
    """The songs of an M3U8, resolved from its folder."""
    lines = m3u8.read_text(encoding="utf-8").splitlines()
    return [(m3u8.parent / line).resolve() for line in lines if not line.startswith("#")]


def test_the_seeds_mood_comes_back_nearest_first_without_the_seed(moods, cache, tmp_path):
    mellow = moods["mellow"]
    library = library_csv(tmp_path, every_song(moods))
    found = similar(
        [mellow[0]], library, n=7, per_artist=None, output=tmp_path / "near.csv", cache_dir=cache,
        progress=False,
    )  # fmt: skip
    paths = [song.path.resolve() for song in found.songs]
    assert mellow[0] not in paths and len(paths) == 7
    assert set(paths[:3]) == set(mellow[1:])
    assert found.distances == sorted(found.distances) and found.compared == 8
    with open(tmp_path / "near.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(row["path"]).resolve() for row in rows] == paths
    assert [float(row["distance"]) for row in rows] == pytest.approx(found.distances, abs=1e-5)

    together = similar(mellow[:2], library, n=2, per_artist=None, cache_dir=cache, progress=False)
    assert {song.path.resolve() for song in together.songs} == set(mellow[2:])


def test_at_most_k_songs_of_an_artist_from_the_csv_or_the_tags(
    moods, small_library, cache, tmp_path
):
    songs = every_song(moods)
    library = library_csv(tmp_path, songs, ["Same Artist"] * 8)
    found = similar([songs[0]], library, n=7, per_artist=2, cache_dir=cache, progress=False)
    assert len(found.songs) == 2

    by_tags = similar(  # a folder: artists from the files' tags, as scan reads them
        [songs[0]], small_library / "music", n=7, per_artist=1, cache_dir=cache, progress=False
    )
    artists = [song.artist for song in by_tags.songs]
    assert all(artists) and len(artists) == len(set(artists)) == 4


def test_a_second_recording_of_a_song_is_left_out(moods, cache, tmp_path):
    mellow = moods["mellow"]
    copy = tmp_path / "copy.flac"
    shutil.copyfile(mellow[1], copy)
    seed_copy = tmp_path / "seed copy.flac"
    shutil.copyfile(mellow[0], seed_copy)
    library = library_csv(tmp_path, [*every_song(moods), copy, seed_copy])
    found = similar([mellow[0]], library, n=9, per_artist=None, cache_dir=cache, progress=False)
    paths = [song.path.resolve() for song in found.songs]
    assert (mellow[1] in paths) != (copy.resolve() in paths)
    assert seed_copy.resolve() not in paths and len(paths) == 7


def test_a_song_that_cannot_be_read_is_told_and_skipped(moods, cache, tmp_path, capsys):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all" * 64)
    library = library_csv(tmp_path, [*every_song(moods), broken])
    found = similar([moods["mellow"][0]], library, n=3, cache_dir=cache, progress=False)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {broken}: ")
    assert list(found.errors) == [broken] and found.compared == 8 and len(found.songs) == 3


def test_unliked_songs_move_the_playlist_away(moods, cache, tmp_path):
    mellow, lively = moods["mellow"], moods["not mellow"]
    library = library_csv(tmp_path, every_song(moods))
    plain = like_playlist(
        [mellow[0]], library, tmp_path / "plain.m3u8", n=7, per_artist=None, cache_dir=cache,
        progress=False,
    )  # fmt: skip
    assert {song.path.resolve() for song in plain.songs} & set(lively)
    away = like_playlist(
        [mellow[0]], library, tmp_path / "away.m3u8", unlike=[lively[0]], n=7, per_artist=None,
        cache_dir=cache, progress=False,
    )  # fmt: skip
    listed = playlist_songs(tmp_path / "away.m3u8")
    assert listed[0] == mellow[0]  # the liked song first, then the songs found
    assert set(listed[1:]) == set(mellow[1:])  # nothing nearer the unliked song
    assert len(away.songs) == 3


def test_a_path_starts_near_a_and_ends_near_b(moods, cache, tmp_path):
    mellow, lively = moods["mellow"], moods["not mellow"]
    library = library_csv(tmp_path, every_song(moods))
    found = path_playlist(
        mellow[0], lively[0], library, tmp_path / "path.m3u8", n=8, per_artist=None,
        cache_dir=cache, progress=False,
    )  # fmt: skip
    listed = playlist_songs(tmp_path / "path.m3u8")
    assert listed[0] == mellow[0] and listed[-1] == lively[0]
    assert len(listed) == 8 and len(set(listed)) == 8 and len(found.songs) == 6
    assert listed[1] in mellow and listed[-2] in lively
    text = (tmp_path / "path.m3u8").read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U\n") and text.count("#EXTINF:6,") == 8


def test_a_run_places_songs_by_the_classes_it_learnt(moods, logreg_run, cache, tmp_path):
    mellow = moods["mellow"]
    library = library_csv(tmp_path, every_song(moods))
    found = similar(
        [mellow[0]], library, n=3, per_artist=None, run=logreg_run.path, cache_dir=cache,
        progress=False,
    )  # fmt: skip
    assert {song.path.resolve() for song in found.songs} == set(mellow[1:])


def test_the_command_lists_or_writes_the_nearest_songs(moods, cache, tmp_path):
    library = library_csv(tmp_path, every_song(moods))
    seed = str(moods["mellow"][0])
    common = ["--library", str(library), "--cache", str(cache), "--workers", "1"]
    shown = runner.invoke(app, ["similar", seed, *common, "-n", "2"])
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.stdout.splitlines() if line.strip()]
    assert len(lines) == 2 and all(
        Path(line.split(maxsplit=1)[1]) in moods["mellow"] for line in lines
    )
    out = tmp_path / "similar.csv"
    written = runner.invoke(app, ["similar", seed, *common, "-n", "3", "-o", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == "path,distance"
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4


def test_the_command_walks_a_path_into_a_playlist(moods, cache, tmp_path):
    library = library_csv(tmp_path, every_song(moods))
    a, b = moods["mellow"][0], moods["not mellow"][0]
    out = tmp_path / "lists" / "walk.m3u8"
    args = ["playlists", "--path", str(a), str(b), "--library", str(library), "-o", str(out)]
    result = runner.invoke(app, [*args, "--limit", "4", "--cache", str(cache), "--workers", "1"])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    locations = [line for line in lines if not line.startswith("#")]
    assert len(locations) == 4 and not any(Path(line).is_absolute() for line in locations)
    assert playlist_songs(out)[0] == a and playlist_songs(out)[-1] == b


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["similar", "missing.wav", "--library", "songs.csv"], "error: missing.wav: no such file"),
        (["similar", "a.wav"], "error: give the library to search with --library"),
        (["playlists", "--like", "missing.wav", "--library", "songs.csv"], "missing.wav"),
        (["playlists", "--unlike", "a.wav", "predictions.csv"], "--unlike goes with"),
        (
            ["playlists", "--like", "a.wav", "--path", "a.wav", "b.wav", "--library", "x"],
            "not both",
        ),
        (["playlists", "--like", "a.wav"], "--library"),
        (["playlists", "--like", "a.wav", "--task", "mood", "--library", "x"], "--task goes"),
        (["playlists", "predictions.csv", "--path", "a.wav", "b.wav"], "a predictions CSV goes"),
        (["similar", "a.wav", "--library", "notes.txt"], "notes.txt: not a song CSV or a folder"),
    ],
)
def test_a_mistake_is_one_line_and_exit_code_1(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.wav").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: ") and words in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "notes.txt"]


def test_a_seed_that_cannot_be_read_stops_the_command(moods, cache, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio" * 64)
    library = library_csv(tmp_path, every_song(moods))
    result = runner.invoke(
        app, ["similar", str(broken), "--library", str(library), "--cache", str(cache)]
    )
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"error: {broken}: cannot be read, so no song can be found near it"
