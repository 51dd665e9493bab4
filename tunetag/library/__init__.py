"""The person's music and labels: find audio files, read their tags, keep the song CSV.

Writing predictions into tags (`tunetag.library.tagging`) and playlists
(`tunetag.library.playlists`) read the predictions file, which itself uses the song CSV, so
they are imported from their modules (or from `tunetag`), not here.
"""

from tunetag.library.metadata import read_metadata
from tunetag.library.scan import AUDIO_EXTENSIONS, ScanReport, find_audio, scan
from tunetag.library.songtable import COLUMNS, SongTable

__all__ = [
    "AUDIO_EXTENSIONS",
    "COLUMNS",
    "ScanReport",
    "SongTable",
    "find_audio",
    "read_metadata",
    "scan",
]
