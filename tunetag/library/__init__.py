"""The person's music and labels: find audio files, read their tags, keep the song CSV,
write predictions into tags (and undo it), write playlists."""

from tunetag.library.playlists import playlists
from tunetag.library.scan import AUDIO_EXTENSIONS, ScanReport, find_audio, scan
from tunetag.library.songtable import COLUMNS, SongTable
from tunetag.library.tagging import TagReport, tag, undo_tags
from tunetag.library.tags import read_tags

__all__ = [
    "AUDIO_EXTENSIONS",
    "COLUMNS",
    "ScanReport",
    "SongTable",
    "TagReport",
    "find_audio",
    "playlists",
    "read_tags",
    "scan",
    "tag",
    "undo_tags",
]
