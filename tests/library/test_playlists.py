"""Playlists: one extended M3U8 per task and class, read back as a player would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tunetag.errors import ParameterError
from tunetag.library.playlists import playlists as write_playlists
from tunetag.library.playlists import safe_names
from tunetag.library.predictions import PredictedSong, write_predictions

TASKS = {"mood": ["mellow", "not mellow"], "tags": ["calm", "vocal"]}


def audio(folder: Path, name: str) -> Path:
    """A tiny stand-in audio file: playlists never decode, they only list."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0")
    return path


def song(path: Path, mellow: float, tags: dict[str, float] | None = None, **kwargs):
    tags = tags or {"calm": 0.1, "vocal": 0.1}
    given = [label for label, p in tags.items() if p >= 0.5]
    return PredictedSong(
        path=path,
        run="mood@0123456789ab",
        predicted={"mood": "mellow" if mellow >= 0.5 else "not mellow", "tags": ";".join(given)},
        probability={
            "mood": max(mellow, 1 - mellow),
            "tags": min(tags[g] for g in given) if given else None,
        },
        probabilities={"mood": {"mellow": mellow, "not mellow": 1 - mellow}, "tags": tags},
        **kwargs,
    )


def predictions(tmp_path: Path, songs: list[PredictedSong], tasks=None) -> Path:
    return write_predictions(tmp_path / "data" / "predictions.csv", tasks or TASKS, songs)


def parse(playlist: Path) -> tuple[list[str], list[tuple[int, str, str]]]:
    """The ``#`` lines before the first song, and (seconds, name, location) per song."""
    data = playlist.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    lines = data.decode("utf-8").split("\n")
    assert lines[-1] == ""  # ends with a line break
    lines = lines[:-1]
    header = []
    while lines and lines[0].startswith("#") and not lines[0].startswith("#EXTINF:"):
        header.append(lines.pop(0))
    entries = []
    for info, location in zip(lines[::2], lines[1::2], strict=True):
        assert info.startswith("#EXTINF:") and not location.startswith("#")
        seconds, name = info.removeprefix("#EXTINF:").split(",", 1)
        entries.append((int(seconds), name, location))
    return header, entries


def located(playlist: Path, location: str) -> Path:
    """Where a player opening ``playlist`` finds ``location``."""
    return Path(os.path.normpath(os.path.join(os.path.realpath(playlist.parent), location)))


def test_one_playlist_per_task_and_class_ordered_by_probability(tmp_path):
    music = tmp_path / "music"
    songs = [
        song(audio(music, "a.flac"), 0.7, artist="Ann", title="Slow", duration_s=200.4),
        song(audio(music, "b.flac"), 0.95, artist="Bob", title="Slower", duration_s=90.6),
        song(audio(music, "c.flac"), 0.1, artist="Cy", title="Loud"),
    ]
    out = tmp_path / "lists"
    written = write_playlists(predictions(tmp_path, songs), out)
    assert written == [
        out / "mood" / "mellow.m3u8",
        out / "mood" / "not mellow.m3u8",
        out / "tags" / "calm.m3u8",
        out / "tags" / "vocal.m3u8",
    ]
    assert sorted(out.rglob("*.m3u8")) == sorted(written)
    header, entries = parse(out / "mood" / "mellow.m3u8")
    assert header == ["#EXTM3U", "#PLAYLIST:mood: mellow"]
    assert entries == [
        (91, "Bob - Slower", "../../music/b.flac"),
        (200, "Ann - Slow", "../../music/a.flac"),
    ]
    assert parse(out / "mood" / "not mellow.m3u8")[1] == [(-1, "Cy - Loud", "../../music/c.flac")]


def test_an_empty_class_gets_a_playlist_with_only_the_header(tmp_path):
    out = tmp_path / "lists"
    write_playlists(predictions(tmp_path, [song(audio(tmp_path, "a.wav"), 0.9)]), out)
    header, entries = parse(out / "tags" / "vocal.m3u8")
    assert header[0] == "#EXTM3U" and entries == []


def test_paths_resolve_from_the_playlist_folder_at_another_depth(tmp_path):
    deep = audio(tmp_path / "library" / "Artist" / "Album (2001)", "01 First.mp3")
    shallow = audio(tmp_path, "top.ogg")
    csv_path = predictions(tmp_path, [song(deep, 0.9), song(shallow, 0.8)])
    out = tmp_path / "a" / "b" / "c" / "lists"
    write_playlists(csv_path, out)
    playlist = out / "mood" / "mellow.m3u8"
    locations = [location for _, _, location in parse(playlist)[1]]
    assert locations == [
        "../../../../../library/Artist/Album (2001)/01 First.mp3",
        "../../../../../top.ogg",
    ]
    for location, real in zip(locations, [deep, shallow], strict=True):
        assert not os.path.isabs(location) and "\\" not in location
        assert located(playlist, location) == Path(os.path.realpath(real))
        assert (playlist.parent / location).resolve() == real.resolve()


def test_paths_stay_right_when_out_dir_is_reached_through_a_symlink(tmp_path):
    path = audio(tmp_path / "music", "a.mp3")
    real_out = tmp_path / "elsewhere" / "deeper" / "lists"
    real_out.mkdir(parents=True)
    link = tmp_path / "lists"
    try:
        link.symlink_to(real_out, target_is_directory=True)
    except OSError:
        pytest.skip("no symbolic links here")
    write_playlists(predictions(tmp_path, [song(path, 0.9)]), link)
    playlist = link / "mood" / "mellow.m3u8"
    (*_, location), = parse(playlist)[1]  # fmt: skip
    assert location == "../../../../music/a.mp3"
    assert located(playlist, location) == Path(os.path.realpath(path))
    assert (playlist.parent / location).resolve() == path.resolve()


def test_a_song_beside_the_playlist_whose_name_starts_with_hash(tmp_path):
    out = tmp_path / "lists"
    path = audio(out / "mood", "#1 hit.mp3")
    write_playlists(predictions(tmp_path, [song(path, 0.9)]), out)
    (_, name, location), = parse(out / "mood" / "mellow.m3u8")[1]  # fmt: skip
    assert (name, location) == ("#1 hit", "./#1 hit.mp3")


def test_names_with_spaces_and_non_ascii_round_trip_in_utf8(tmp_path):
    path = audio(tmp_path / "Música" / "Sigur Rós", "Hoppípolla é 東京.flac")
    out = tmp_path / "listes de lecture"
    write_playlists(_french(tmp_path, path), out)
    playlist = out / "humeur" / "mélancolique.m3u8"
    header, entries = parse(playlist)
    assert header[1] == "#PLAYLIST:humeur: mélancolique"
    assert entries == [
        (268, "Sigur Rós - Hoppípolla, live", "../../Música/Sigur Rós/Hoppípolla é 東京.flac")
    ]
    assert located(playlist, entries[0][2]) == Path(os.path.realpath(path))


def _french(tmp_path: Path, path: Path) -> Path:
    return write_predictions(
        tmp_path / "data" / "prédictions.csv",
        {"humeur": ["mélancolique", "gai"]},
        [
            PredictedSong(
                path=path,
                artist="Sigur Rós",
                title="Hoppípolla, live",
                duration_s=268.5,
                predicted={"humeur": "mélancolique"},
                probability={"humeur": 0.9},
                probabilities={"humeur": {"mélancolique": 0.9, "gai": 0.1}},
            )
        ],
    )


def test_extinf_falls_back_to_the_title_or_file_stem_and_stays_on_one_line(tmp_path):
    songs = [
        song(audio(tmp_path, "one.mp3"), 0.9, title="Only a title", duration_s=0.4),
        song(audio(tmp_path, "two.mp3"), 0.8),
        song(audio(tmp_path, "three.mp3"), 0.7, artist="Line\nBreak", title="A,\r\nB, C"),
        song(audio(tmp_path, "four.mp3"), 0.6, artist="No Title"),
    ]
    out = tmp_path / "lists"
    write_playlists(predictions(tmp_path, songs), out)
    names = [(seconds, name) for seconds, name, _ in parse(out / "mood" / "mellow.m3u8")[1]]
    assert names == [(0, "Only a title"), (-1, "two"), (-1, "Line Break - A, B, C"),
                     (-1, "No Title - four")]  # fmt: skip


def test_ties_keep_path_order(tmp_path):
    songs = [song(audio(tmp_path, name), 0.8) for name in ("c.mp3", "a.mp3", "b.mp3")]
    out = tmp_path / "lists"
    write_playlists(predictions(tmp_path, songs), out)
    locations = [location for *_, location in parse(out / "mood" / "mellow.m3u8")[1]]
    assert locations == ["../../a.mp3", "../../b.mp3", "../../c.mp3"]


def test_min_prob_and_limit(tmp_path):
    probabilities = [0.55, 0.9, 0.7, 0.8, 0.6]
    songs = [song(audio(tmp_path, f"{p}.mp3"), p) for p in probabilities]
    csv_path = predictions(tmp_path, songs)
    out = tmp_path / "lists"

    def stems(**options) -> list[str]:
        write_playlists(csv_path, out, **options)
        return [Path(loc).stem for *_, loc in parse(out / "mood" / "mellow.m3u8")[1]]

    assert stems() == ["0.9", "0.8", "0.7", "0.6", "0.55"]
    assert stems(min_prob=0.7) == ["0.9", "0.8", "0.7"]  # equal to min_prob stays
    assert stems(limit=2) == ["0.9", "0.8"]
    assert stems(min_prob=0.65, limit=10) == ["0.9", "0.8", "0.7"]
    assert stems(min_prob=0.95) == []


def test_multi_label_songs_are_in_every_playlist_of_their_labels(tmp_path):
    songs = [
        song(audio(tmp_path, "both.mp3"), 0.9, {"calm": 0.6, "vocal": 0.95}),
        song(audio(tmp_path, "calm.mp3"), 0.9, {"calm": 0.9, "vocal": 0.2}),
        song(audio(tmp_path, "none.mp3"), 0.9, {"calm": 0.3, "vocal": 0.4}),
    ]
    out = tmp_path / "lists"
    write_playlists(predictions(tmp_path, songs), out)

    def stems(name: str) -> list[str]:
        return [Path(loc).stem for *_, loc in parse(out / "tags" / name)[1]]

    assert stems("calm.m3u8") == ["calm", "both"]  # by the calm probability: 0.9, 0.6
    assert stems("vocal.m3u8") == ["both"]
    write_playlists(predictions(tmp_path, songs), out, min_prob=0.7)
    assert stems("calm.m3u8") == ["calm"]


def test_a_missing_file_is_reported_counted_and_left_out(tmp_path, capsys):
    here = audio(tmp_path, "here.mp3")
    gone = tmp_path / "gone.mp3"
    out = tmp_path / "lists"
    write_playlists(predictions(tmp_path, [song(here, 0.9), song(gone, 0.95)]), out)
    err = capsys.readouterr().err
    assert f"error: {gone}: file not found" in err
    assert err.count("error:") == 1 and "1 song(s) left out" in err
    locations = [loc for *_, loc in parse(out / "mood" / "mellow.m3u8")[1]]
    assert locations == ["../../here.mp3"]


@pytest.mark.skipif(os.name == "nt", reason="Windows file names cannot hold a line break")
def test_a_path_with_a_line_break_is_reported_and_left_out(tmp_path, capsys):
    odd = audio(tmp_path, "two\nlines.mp3")
    out = tmp_path / "lists"
    write_playlists(predictions(tmp_path, [song(odd, 0.9)]), out)
    assert "line break" in capsys.readouterr().err
    assert parse(out / "mood" / "mellow.m3u8")[1] == []


def test_unsafe_class_names_become_safe_file_names_inside_out_dir(tmp_path):
    classes = ["rock/pop", "rock:pop", "..", ".", "CON", "con.live", "Rock_Pop", "a\\b"]
    tasks = {"../genre": classes}
    songs = [
        PredictedSong(
            path=audio(tmp_path, f"{n}.mp3"),
            predicted={"../genre": name},
            probability={"../genre": 1.0},
            probabilities={"../genre": {c: float(c == name) for c in classes}},
        )
        for n, name in enumerate(classes)
    ]
    out = tmp_path / "lists"
    written = write_playlists(predictions(tmp_path, songs, tasks), out)
    assert [p.name for p in written] == [
        "rock_pop.m3u8",
        "rock_pop_2.m3u8",
        "_.m3u8",
        "__2.m3u8",
        "CON_.m3u8",
        "con_.live.m3u8",
        "Rock_Pop_3.m3u8",
        "a_b.m3u8",
    ]
    assert {p.parent for p in written} == {out / "_genre"}
    assert len({p.name.casefold() for p in written}) == len(written)
    for n, (name, playlist) in enumerate(zip(classes, written, strict=True)):
        header, entries = parse(playlist)
        assert header[1] == f"#PLAYLIST:../genre: {name}"
        assert [loc for *_, loc in entries] == [f"../../{n}.mp3"]
    assert sorted(p for p in tmp_path.rglob("*.m3u8")) == sorted(written)


@pytest.mark.parametrize(
    ("names", "stems"),
    [
        (["  spaced out  "], ["spaced out"]),
        (["", "?", " . "], ["_", "__2", "__3"]),
        (["...hidden"], ["hidden"]),
        (["trailing. "], ["trailing"]),
        (["COM1", "lpt9.x", "CONSOLE", "nul "], ["COM1_", "lpt9_.x", "CONSOLE", "nul_"]),
        (["Café", "CAFÉ", "cafe\u0301"], ["Café", "CAFÉ_2", "café_3"]),  # NFC, then case
        (["x" * 300], ["x" * 200]),
        (["東" * 100, "東" * 100], ["東" * 66, "東" * 66 + "_2"]),
        (['a*b?c<d>e|f"g'], ["a_b_c_d_e_f_g"]),
    ],
)
def test_safe_names(names, stems):
    assert safe_names(names) == stems


def test_tasks_filter_and_an_unknown_task(tmp_path):
    csv_path = predictions(tmp_path, [song(audio(tmp_path, "a.mp3"), 0.9)])
    out = tmp_path / "lists"
    written = write_playlists(csv_path, out, tasks=["tags"])
    assert {p.parent.name for p in written} == {"tags"} and not (out / "mood").exists()
    assert write_playlists(csv_path, out, tasks=[]) == write_playlists(csv_path, out)
    with pytest.raises(ParameterError, match="no task genre .*it has mood, tags"):
        write_playlists(csv_path, out, tasks=["genre"])


def test_playlists_of_a_previous_run_are_left_alone(tmp_path):
    out = tmp_path / "lists"
    old = out / "mood" / "gone class.m3u8"
    old.parent.mkdir(parents=True)
    old.write_text("#EXTM3U\nmine.mp3\n", encoding="utf-8")
    stale = out / "mood" / "mellow.m3u8"
    stale.write_text("#EXTM3U\n#EXTINF:-1,old\nold.mp3\n", encoding="utf-8")
    write_playlists(predictions(tmp_path, [song(audio(tmp_path, "a.mp3"), 0.1)]), out)
    assert old.read_text(encoding="utf-8") == "#EXTM3U\nmine.mp3\n"
    assert parse(stale)[1] == []  # rewritten: no song is mellow now
    assert sorted(p.name for p in (out / "mood").iterdir()) == [
        "gone class.m3u8",
        "mellow.m3u8",
        "not mellow.m3u8",
    ]  # no temporary file left behind


@pytest.mark.parametrize(
    ("options", "message"),
    [({"min_prob": 1.5}, "min_prob"), ({"min_prob": -0.1}, "min_prob"), ({"limit": 0}, "limit")],
)
def test_bad_options(tmp_path, options, message):
    csv_path = predictions(tmp_path, [song(audio(tmp_path, "a.mp3"), 0.9)])
    with pytest.raises(ParameterError, match=message):
        write_playlists(csv_path, tmp_path / "lists", **options)


def test_out_dir_that_is_a_file(tmp_path):
    csv_path = predictions(tmp_path, [song(audio(tmp_path, "a.mp3"), 0.9)])
    with pytest.raises(ParameterError, match="not a folder"):
        write_playlists(csv_path, csv_path)
