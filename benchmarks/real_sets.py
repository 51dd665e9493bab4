"""Labelled sets of real recordings from Debian's game soundtracks, rebuilt by one command.

Judging what tunetag learns needs real music labelled by something outside the audio. Debian
main ships thousands of game music tracks under free licences; this script fetches the
packages (``apt-get download`` and ``dpkg -x``: nothing is installed), takes the music
tracks of at least ``MIN_SECONDS`` as they are shipped (Ogg Vorbis, Opus; MP3 and WAV for
two games of ``WIDE``; a game's zip archive, ``.pk3``, is unpacked member by member, the
audio bytes untouched; nothing is converted), drops exact duplicates, and writes four
labelled song CSVs:

- **source** (``/work/bench-data/source/songs.csv``): which game's soundtrack a track comes
  from, for the games of at least ``MIN_SOURCE_TRACKS`` tracks, ``SOURCE_PER_GAME`` of each
  (the tracks the other sets use first, to spare CPU time). The game is the class, so
  folds cannot keep a game on one side; the ``artist`` column (the group that never
  straddles a fold) is the *piece*: a track with its variants (``celtic`` and ``celtic_fast``,
  ``frantic`` and ``frantic-old``; see `piece_key`) share a group, so no fold is scored on a
  speeded-up copy of a track it trained on. What this set measures is how well a new track
  of a known soundtrack is placed: composer, instruments and production all count.
- **mood** (``mood/songs.csv``): ``tense`` against ``calm`` from the words of each track's
  title (its title tag and its file name), by `MOOD_WORDS`; a title with words of both
  lists, or of neither, is dropped. Tracks of every game of ``SOURCES`` are used and the
  ``artist`` column is the *game*, so a game's tracks are all scored by a model that never
  heard that game: a mood cannot be learnt by recognising a soundtrack.
- **mood-wide** (``mood-wide/songs.csv``): the same rule and groups over the tracks of every
  game of ``SOURCES`` and of ``WIDE``, more games of Debian main whose music has titles with
  words of `MOOD_WORDS` (``mood`` has under a hundred tracks: a difference under 0.1 is
  noise there). ``WIDE`` is used by this set alone (its files are not even fetched for the
  others), so ``source``, ``composer`` and ``mood`` stay as they were.
- **composer** (``composer/songs.csv``): the composer named by the file's own tags (the
  ``composer`` comment, else ``artist``, spellings merged by `COMPOSER_ALIASES`), for the
  composers with at least ``MIN_COMPOSER_TRACKS`` tracks, at most ``COMPOSER_PER_CLASS``
  each; names of two people and placeholders dropped. Most composers wrote for one game,
  so the group is the piece, as for ``source``; the set also measures production.

Each CSV is what ``tunetag scan <set>/music -o <set>/songs.csv --label-from-folder <task>``
writes (the set's ``music/<class>/`` folder holds symbolic links to the shipped files), then
``artist`` is set to the group and a ``game`` column (and ``tag_artist``, the tag's artist)
is added. ``<set>/labels.json`` records the rules and the counts per class (and, for the
mood sets, per word). Every package is in Debian main (free licences; drascula's is the
DFSG-free licence Debian accepts for BASS and FOTAQ).
Idempotent: downloads only packages missing from ``/work/bench-data/debs``, remakes a set's
links only when the set changed, and writes the same CSVs each time.
Usage: ``python benchmarks/real_sets.py [--data /work/bench-data] [--sets
source,mood,composer,mood-wide]``.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

DATA = Path("/work/bench-data")
MIN_SECONDS = 20.0  # shorter files are jingles, stings and loops, not songs
SETS = ("source", "mood", "composer", "mood-wide")


@dataclass(frozen=True)
class Game:
    """Where a game's music lies in its Debian package(s).

    ``globs`` are matched under the unpacked package; ``archive`` names a zip (``.pk3``)
    inside the package whose members matching ``members`` are unpacked (bytes as they are)
    into ``<package>/pk3/`` first.
    """

    debs: tuple[str, ...]
    globs: tuple[str, ...]
    archive: str = ""
    members: str = ""
    exclude: tuple[str, ...] = ()  # file name patterns that are not music (tests, effects)
    name_from_folder: bool = False  # every file has the same name; its folder names the song


SOURCES = {
    "wesnoth": Game(
        ("wesnoth-1.16-music",), ("usr/share/games/wesnoth/1.16/data/core/music/*.ogg",)
    ),
    "ufoai": Game(
        ("ufoai-music",),
        ("pk3/music/*.ogg",),
        "usr/share/games/ufoai/base/0music.pk3",
        "music/*.ogg",
        exclude=("dynamictest-*",),  # the engine's test loops of dynamic music
    ),
    "warzone2100": Game(("warzone2100-music",), ("usr/share/games/warzone2100/music/**/*.opus",)),
    "naev": Game(("naev-data",), ("usr/share/naev/dat/snd/music/*.ogg",)),
    "supertux": Game(("supertux-data",), ("usr/share/games/supertux2/music/**/*.ogg",)),
    "supertuxkart": Game(
        ("supertuxkart-data",), ("usr/share/games/supertuxkart/data/music/*.ogg",)
    ),
    "widelands": Game(("widelands-data",), ("usr/share/games/widelands/data/music/*.ogg",)),
    "drascula": Game(("drascula-music",), ("usr/share/scummvm/drascula/audio/*.ogg",)),
    "colobot": Game(("colobot-common-sounds",), ("usr/share/games/colobot/music/*.ogg",)),
    "freedroidrpg": Game(
        ("freedroidrpg-data",),
        (
            "usr/share/freedroidrpg/data/sound/music/*.ogg",
            "usr/share/freedroidrpg/data/base/titles/*.ogg",
        ),
    ),
    "nexuiz": Game(
        ("nexuiz-music",),
        ("pk3/sound/cdtracks/*.ogg",),
        "usr/share/games/nexuiz/data/music.pk3",
        "sound/cdtracks/*.ogg",
        exclude=("thunder.ogg",),  # a thunder sound effect
    ),
    "singularity": Game(("singularity-music",), ("usr/share/games/singularity/music/**/*.ogg",)),
    "hyperrogue": Game(("hyperrogue-music",), ("usr/share/hyperrogue/music/*.ogg",)),
    "hedgewars": Game(("hedgewars-data",), ("usr/share/games/hedgewars/Data/Music/*.ogg",)),
    "flare": Game(
        ("flare-game",),
        ("usr/share/games/flare/mods/fantasycore/music/*.ogg",),
        exclude=("wind_ambient.ogg",),  # a recorded wind loop
    ),
    "openclonk": Game(("openclonk-data",), ("usr/share/games/openclonk/Music.ocg/*.ogg",)),
    "planetblupi": Game(("planetblupi-music-ogg",), ("usr/share/planetblupi/music/*.ogg",)),
    "fretsonfire": Game(
        ("fretsonfire-songs-sectoid", "fretsonfire-songs-muldjord"),
        ("usr/share/games/fretsonfire/data/songs/*/*/song.ogg",),
        name_from_folder=True,
    ),
    "pushover": Game(("pushover-data",), ("usr/share/pushover/themes/*.ogg",)),
    "xmoto": Game(("xmoto-data",), ("usr/share/games/xmoto/Textures/Musics/*.ogg",)),
    "extremetuxracer": Game(("extremetuxracer-data",), ("usr/share/games/etr/music/*.ogg",)),
    "lincity-ng": Game(("lincity-ng-data",), ("usr/share/games/lincity-ng/music/*/*.ogg",)),
    "megaglest": Game(
        ("megaglest-data",),
        (
            "usr/share/games/megaglest/data/core/menu/music/*.ogg",
            "usr/share/games/megaglest/techs/*/factions/*/music/*.ogg",
        ),
    ),  # fmt: skip
}

# ---- mood-wide only: the other games of Debian main found to ship music (Ogg, MP3, WAV) of
# which at least one title holds a word of MOOD_WORDS (the rest add nothing to that set)
WIDE = {
    "0ad": Game(
        ("0ad-data",),
        ("pk3/audio/music/*.ogg",),
        "usr/share/games/0ad/mods/public/public.zip",
        "audio/music/*.ogg",
    ),
    "unknown-horizons": Game(
        ("unknown-horizons",), ("usr/share/unknown-horizons/content/audio/music/**/*.ogg",)
    ),
    "berusky2": Game(("berusky2-data",), ("usr/share/games/berusky2/music/*.ogg",)),
    "tumiki-fighters": Game(
        ("tumiki-fighters-data",), ("usr/share/games/tumiki-fighters/sounds/*.ogg",)
    ),  # its music and sound effects share a folder: the effects are under MIN_SECONDS
    "ardentryst": Game(("ardentryst",), ("usr/share/games/ardentryst/Music/*.ogg",)),
    "davegnukem": Game(("davegnukem-data",), ("usr/share/games/davegnukem/music/**/*.ogg",)),
    "marsshooter": Game(
        ("marsshooter-data",),
        (
            "usr/share/games/marsshooter/audio/*.ogg",  # the menu's and the tutorial's music
            "usr/share/games/marsshooter/audio/music/*.ogg",
        ),
    ),
    "plee-the-bear": Game(("plee-the-bear-data",), ("usr/share/games/plee-the-bear/music/*.ogg",)),
    "searchandrescue": Game(
        ("searchandrescue-data",), ("usr/share/games/searchandrescue/music/*.wav",)
    ),
    "glob2": Game(("glob2-data",), ("usr/share/games/glob2/data/zik/*.ogg",)),
    "lordsawar": Game(("lordsawar-data",), ("usr/share/games/lordsawar/music/*.ogg",)),
    "asc": Game(("asc-music",), ("usr/share/games/asc/music/*.mp3",)),
    "fillets-ng": Game(("fillets-ng-data",), ("usr/share/games/fillets-ng/music/*.ogg",)),
    "powermanga": Game(
        ("powermanga-data",), ("usr/share/games/powermanga/sound/handheld_console/music_*.ogg",)
    ),
    "enigma": Game(("enigma-data",), ("usr/share/games/enigma/music/**/*.ogg",)),
    "wizznic": Game(
        ("wizznic-data",),
        (
            "usr/share/games/wizznic/data/menu-music.ogg",
            "usr/share/games/wizznic/packs/*/music/*.ogg",
        ),
    ),
    "amoebax": Game(("amoebax-data",), ("usr/share/games/amoebax/music/*.ogg",)),
}


@dataclass
class Track:
    """One shipped music file: its game, path, length, tags and content hash."""

    game: str
    path: Path
    seconds: float
    title: str  # the title tag, else the file name without extension
    tag_artist: str
    composer: str  # the composer comment, else the artist tag ("" when neither)
    album: str
    sha1: str

    stem: str  # the file name without extension, or its folder's name (`Game.name_from_folder`)

    @property
    def name(self) -> str:
        """A file name unique within the sets: the game, then the track's own name."""
        return f"{self.game}--{self.stem}{self.path.suffix}"


def fetch(data: Path, games: dict[str, Game]) -> None:
    """Download and unpack each package not unpacked yet (``<data>/pkgs/<deb>/.unpacked``)."""
    debs, pkgs = data / "debs", data / "pkgs"
    debs.mkdir(parents=True, exist_ok=True)
    pkgs.mkdir(exist_ok=True)  # dpkg -x makes the target, not its parent
    for game in games.values():
        for deb in game.debs:
            target = pkgs / deb
            if (target / ".unpacked").exists():
                continue
            found = sorted(debs.glob(f"{deb}_*.deb"))
            if not found:
                print(f"apt-get download {deb}", flush=True)
                subprocess.run(["apt-get", "download", deb], cwd=debs, check=True)
                found = sorted(debs.glob(f"{deb}_*.deb"))
            print(f"dpkg -x {found[-1].name}", flush=True)
            subprocess.run(["dpkg", "-x", str(found[-1]), str(target)], check=True)
            if game.archive:
                _unpack_members(target / game.archive, game.members, target / "pk3")
            (target / ".unpacked").touch()


def _unpack_members(archive: Path, pattern: str, out: Path) -> None:
    """The members of a zip matching ``pattern``, written byte for byte under ``out``."""
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.namelist():
            if fnmatch.fnmatch(member, pattern) and not member.endswith("/"):
                zipped.extract(member, out)


def inventory(data: Path, games: dict[str, Game]) -> list[Track]:
    """Every music file of the games, described (cached in ``<data>/tracks.json``)."""
    cache_path = data / "tracks.json"
    cached = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    tracks, fresh = [], {}
    for name, game in games.items():
        files = []
        for deb in game.debs:
            root = data / "pkgs" / deb
            for pattern in game.globs:
                files += sorted(root.glob(pattern))
        for path in files:
            if any(fnmatch.fnmatch(path.name, pattern) for pattern in game.exclude):
                continue
            key = f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
            info = cached.get(key) or _describe(path)
            fresh[key] = info
            stem = path.parent.name if game.name_from_folder else path.stem
            title = info["title"] if info["title"] != path.stem else stem
            tracks.append(Track(name, path, **(info | {"title": title}), stem=stem))
    cache_path.write_text(json.dumps(fresh, indent=0))
    return tracks


def distinct(tracks: list[Track]) -> list[Track]:
    """The tracks of at least ``MIN_SECONDS``, duplicates dropped: a file whose bytes another
    of these games also ships is dropped from both (its source is ambiguous); within a game
    the first copy is kept."""
    games_of = {}
    for track in tracks:
        games_of.setdefault(track.sha1, set()).add(track.game)
    kept, seen = [], set()
    for track in tracks:
        if track.seconds < MIN_SECONDS or len(games_of[track.sha1]) > 1 or track.sha1 in seen:
            continue
        seen.add(track.sha1)
        kept.append(track)
    return kept


def _describe(path: Path) -> dict:
    """Length (libsndfile, else FFmpeg), tags (mutagen) and SHA-1 of one file."""
    import av
    import mutagen
    import soundfile as sf

    try:
        seconds = float(sf.info(str(path)).duration)
    except (sf.SoundFileError, RuntimeError):
        try:
            with av.open(str(path)) as container:
                seconds = float(container.duration or 0) / 1e6
        except av.error.FFmpegError:
            seconds = 0.0
    tags: dict[str, str] = {}
    try:
        audio = mutagen.File(path)
        for key, value in (audio.tags or {}).items() if audio is not None else ():
            if isinstance(value, list) and value and isinstance(value[0], str):
                tags[key.lower()] = value[0].strip()
    except mutagen.MutagenError:
        pass
    return {
        "seconds": seconds,
        "title": tags.get("title") or path.stem,
        "tag_artist": tags.get("artist", ""),
        "composer": tags.get("composer") or tags.get("artist", ""),
        "album": tags.get("album", ""),
        "sha1": hashlib.sha1(path.read_bytes()).hexdigest(),
    }


# ---- source: which game a track comes from
MIN_SOURCE_TRACKS = 15  # a game needs this many tracks to be a class
SOURCE_PER_GAME = 12  # tracks taken per game (those the other sets use first), for CPU time

# ---- mood: words of the title (tag and file name), matched whole or, for COMPOUND words,
# as the start or end of a word ("Battlescape", "Hyperbattle", "TreeBoss", "calmrace").
# "theme" is in neither list: it names a role (a faction's or the title's music), and
# these games' themes are as often martial ("Knalgan Theme", "Battle Theme") as calm.
MOOD_WORDS = {
    "tense": (
        "battle", "battles", "fight", "war", "wars", "warfare", "attack", "combat", "boss",
        "siege", "assault", "raid", "threat", "danger", "dangerous", "tension", "suspense",
        "frantic", "vengeful", "revenge", "revenger", "vengeance", "enemy", "army", "invasion",
        "fury", "rage", "conflict", "pursuit", "chase", "hunt", "hunting", "doom",
        "destruction", "casualties", "hell", "insanity", "chaos", "imminent", "suspicion",
        "unrest", "intrigue",
    ),
    "calm": (
        "calm", "peace", "peaceful", "tranquil", "serene", "rest", "relax", "sleep", "dream",
        "dreams", "lullaby", "love", "sanctuary", "safe", "garden", "zen", "breeze", "ambient",
        "ambience", "town", "village", "menu", "home", "meditation", "harmony", "gentle",
        "quiet", "nocturne", "pastoral",
    ),
}  # fmt: skip
COMPOUND = ("battle", "fight", "attack", "boss", "hell", "hunt", "chaos", "calm", "tranquil",
            "breeze", "menu", "dream")  # fmt: skip

# ---- composer: the tag's name, spellings of one person merged; names of two people dropped
MIN_COMPOSER_TRACKS = 4
COMPOSER_PER_CLASS = 10  # at most this many tracks per composer (those of other sets first)
COMPOSER_ALIASES = {
    "Gerd (elysis) Raudenbusch": "elysis",
    "www.elysis.de": "elysis",
    "Nikola Whallon (saturn)": "Nikola Whallon",
    'Christian "Crystan" Hoffmann': "Crystan",
    "www.indiedb.com/members/crystan": "Crystan",
    "Martin Strohmeier (K-Pone)": "Martin Strohmeier",
    "Manuel 'Vanethian' Marino": "Manuel Marino",
    "Klaus Halfmann aka Hasi50": "Klaus Halfmann",
}
NOT_A_COMPOSER = ("<Unknown>",)

# ---- groups: a piece and its variants (a fast copy, an old or enhanced version) share one
VARIANT_SUFFIX = re.compile(r"([_-](fast|f|old|remix|enhanced|revisited|sd))+_?$|_$")
SAME_PIECE = {  # variants the suffix rule cannot see, from their titles
    ("supertux", "airship_2"): "airship",  # "Airship, but this time..." / "Airship Song Mix"
    ("supertux", "ghostforest2"): "ghostforest",
    ("supertux", "voc-daytime2"): "voc-daytime",
    ("colobot", "Hv2"): "humanitarian",  # "Humanitarian v2 - The Box"
    ("colobot", "Infinite"): "music008",  # "Infinite Storm v2" / "Infinite Thunderstorm"
    ("naev", "sirius2"): "sirius1",  # "Sirius Remix"
}


def piece_key(track: Track) -> str:
    """The group of a track in sets whose class is its game or composer: game and piece."""
    stem = SAME_PIECE.get((track.game, track.stem), track.stem).lower()
    return f"{track.game}:{VARIANT_SUFFIX.sub('', stem)}"


def title_words(track: Track) -> list[str]:
    """The lower-case words of the title tag and of the file name, camelCase split."""
    words = []
    for text in (track.title, track.stem):
        text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
        words += [word for word in re.split(r"[^a-zA-Z]+", text.lower()) if word]
    return words


def mood_matches(track: Track) -> dict[str, list[str]]:
    """Per mood, the words of `MOOD_WORDS` the track's title holds."""
    found = {}
    for mood, words in MOOD_WORDS.items():
        hits = set()
        for word in title_words(track):
            for rule in words:
                whole = word == rule
                part = rule in COMPOUND and (word.startswith(rule) or word.endswith(rule))
                if whole or part:
                    hits.add(rule)
        found[mood] = sorted(hits)
    return found


def composer_of(track: Track) -> str:
    """The track's composer from its tags; "" when none, unknown, or two people."""
    name = COMPOSER_ALIASES.get(track.composer, track.composer)
    if name in NOT_A_COMPOSER or "&" in name or name.startswith(("http", "www.")):
        return ""
    return name


@dataclass
class LabelledSet:
    """One set: its task, each chosen track with its class and group, and how it was made."""

    name: str
    task: str
    rows: list[tuple[Track, str, str]]  # track, class, group
    rule: str
    dropped: dict[str, int]
    words: dict[str, dict[str, int]] | None = None  # mood: per mood, tracks each word labels


def label_sets(tracks: list[Track]) -> dict[str, LabelledSet]:
    """The three sets of ``SOURCES`` (mood and composer first: source prefers the tracks they
    use)."""
    sets = {"mood": mood_set("mood", tracks, "")}
    used = {id(track) for track, _, _ in sets["mood"].rows}
    by_composer: dict[str, list[Track]] = {}
    for track in tracks:
        if composer_of(track):
            by_composer.setdefault(composer_of(track), []).append(track)
    composer, few = [], 0
    for name, own in sorted(by_composer.items()):
        if len(own) < MIN_COMPOSER_TRACKS:
            few += len(own)
            continue
        for track in _prefer(own, used)[:COMPOSER_PER_CLASS]:
            composer.append((track, name, piece_key(track)))
    sets["composer"] = LabelledSet(
        "composer", "composer", composer,
        f"composer (else artist) tag, aliases merged; composers of >= {MIN_COMPOSER_TRACKS} "
        f"tracks, at most {COMPOSER_PER_CLASS} each; group: the piece",
        {f"composer of < {MIN_COMPOSER_TRACKS} tracks": few,
         "no composer tag, or two names": sum(not composer_of(t) for t in tracks)},
    )  # fmt: skip
    used |= {id(track) for track, _, _ in composer}
    counts = Counter(track.game for track in tracks)
    source = []
    for game in sorted(game for game, n in counts.items() if n >= MIN_SOURCE_TRACKS):
        own = [track for track in tracks if track.game == game]
        for track in _prefer(own, used)[:SOURCE_PER_GAME]:
            source.append((track, game, piece_key(track)))
    sets["source"] = LabelledSet(
        "source", "source", source,
        f"the package's game; games of >= {MIN_SOURCE_TRACKS} tracks, {SOURCE_PER_GAME} each "
        "(those of the other sets first, then by content hash); group: the piece",
        {f"game of < {MIN_SOURCE_TRACKS} tracks": sum(
            n for n in counts.values() if n < MIN_SOURCE_TRACKS)},
    )  # fmt: skip
    return sets


def mood_set(name: str, tracks: list[Track], scope: str) -> LabelledSet:
    """The tracks whose title holds words of one mood's list alone, grouped by game; ``scope``
    (which games) is added to the rule."""
    rows, both, neither = [], 0, 0
    word_counts: dict[str, Counter] = {mood: Counter() for mood in MOOD_WORDS}
    for track in tracks:
        hits = mood_matches(track)
        moods = [mood for mood, words in hits.items() if words]
        if len(moods) == 1:
            rows.append((track, moods[0], track.game))
            word_counts[moods[0]].update(hits[moods[0]])
        elif moods:
            both += 1
        else:
            neither += 1
    return LabelledSet(
        name, "mood", rows,
        f"title words (tag and file name) of MOOD_WORDS{scope}; group: the game",
        {"words of both moods": both, "no mood word": neither},
        {mood: dict(counts.most_common()) for mood, counts in word_counts.items()},
    )  # fmt: skip


def _prefer(own: list[Track], used: set[int]) -> list[Track]:
    """Tracks another set uses first, then the rest, each part in content-hash order."""
    return sorted(own, key=lambda track: (id(track) not in used, track.sha1))


def write_set(data: Path, labelled: LabelledSet) -> Path:
    """The set's ``music/<class>/`` links, its song CSV (tunetag scan, then the group as
    ``artist``, the ``game`` and the tag's artist as ``tag_artist``) and ``labels.json``."""
    from tunetag.library.scan import scan
    from tunetag.library.songtable import SongTable

    root = data / labelled.name
    music, csv_path = root / "music", root / "songs.csv"
    by_link = {
        str(Path("music", label, track.name)): (track, group)
        for track, label, group in labelled.rows
    }
    wanted = {link: str(track.path) for link, (track, _) in by_link.items()}
    found = {
        str(link.relative_to(root)): os.readlink(link)
        for link in (music.rglob("*") if music.exists() else ())
        if link.is_symlink()
    }
    if found != wanted:  # links are remade only when the set changed: a run may read them
        shutil.rmtree(music, ignore_errors=True)
        for link, target in wanted.items():
            (root / link).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, root / link)
    fresh = root / "songs.new.csv"  # scanned beside the CSV, then renamed over it
    fresh.unlink(missing_ok=True)
    scan(music, fresh, label_from_folder=labelled.task, progress=False)
    table = SongTable.read(fresh)
    table.columns += ["game", "tag_artist"]
    for row in table.rows:
        track, group = by_link[row["path"]]
        row.update(artist=group, game=track.game, tag_artist=row["artist"])
    table.write()
    os.replace(fresh, csv_path)
    counts = Counter(label for _, label, _ in labelled.rows)
    (root / "labels.json").write_text(json.dumps({
        "task": labelled.task,
        "rule": labelled.rule,
        "songs": len(labelled.rows),
        "classes": dict(sorted(counts.items())),
        "groups": len({group for _, _, group in labelled.rows}),
        "minutes": sum(track.seconds for track, _, _ in labelled.rows) / 60,
        "dropped": labelled.dropped,
        "mood_words": MOOD_WORDS if labelled.task == "mood" else None,
        "tracks_per_word": labelled.words,
        "games": dict(sorted(Counter(track.game for track, _, _ in labelled.rows).items())),
    }, indent=1) + "\n")  # fmt: skip
    return csv_path


def main() -> None:
    """Fetch what is missing, take stock of the tracks and write each set's song CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--list", action="store_true", help="print every track and stop")
    args = parser.parse_args()
    names = args.sets.split(",")
    unknown = [name for name in names if name not in SETS]
    if unknown:
        sys.exit(f"error: unknown sets {unknown}; known: {', '.join(SETS)}")
    games = SOURCES | (WIDE if "mood-wide" in names else {})
    fetch(args.data, games)
    every = inventory(args.data, games)
    tracks = distinct([track for track in every if track.game in SOURCES])
    wide = distinct(every) if "mood-wide" in names else []
    _stock(tracks, "")
    if wide:
        _stock(wide, " for mood-wide")
    if args.list:
        for track in wide or tracks:
            print(f"{track.game:15s} {track.seconds:6.0f} {track.stem[:32]:32s} "
                  f"{track.title[:36]:36s} | {track.composer[:30]}")  # fmt: skip
        return
    sets = label_sets(tracks)
    if wide:
        sets["mood-wide"] = mood_set("mood-wide", wide, " (the games of SOURCES and WIDE)")
    everything = set()
    for name in names:
        labelled = sets[name]
        csv_path = write_set(args.data, labelled)
        everything |= {id(track) for track, _, _ in labelled.rows}
        counts = Counter(label for _, label, _ in labelled.rows)
        seconds = sum(track.seconds for track, _, _ in labelled.rows)
        print(f"{csv_path}: {len(labelled.rows)} songs, {len(counts)} classes, "
              f"{len({g for _, _, g in labelled.rows})} groups, {seconds / 60:.0f} min; "
              f"{labelled.rule}")  # fmt: skip
        print("  " + ", ".join(f"{label} {n}" for label, n in sorted(counts.items())))
        print("  dropped: " + ", ".join(f"{why} {n}" for why, n in labelled.dropped.items()))
        for mood, counts in (labelled.words or {}).items():
            print(f"  {mood} words: " + ", ".join(f"{w} {n}" for w, n in counts.items()))
    print(f"{len(everything)} different tracks in these sets")


def _stock(tracks: list[Track], what: str) -> None:
    """One line: how many tracks, of how many games, and their minutes."""
    minutes = sum(track.seconds for track in tracks) / 60
    print(f"{len(tracks)} tracks of >= {MIN_SECONDS:.0f} s from "
          f"{len({track.game for track in tracks})} games{what}, {minutes:.0f} min")  # fmt: skip


if __name__ == "__main__":
    main()
