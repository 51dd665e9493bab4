"""Name a file's audio by its content, whatever its tags, name or folder.

Tagging a file (tunetag's own `tag`, beets, a tag editor) rewrites it, and moving it changes
its path, but its compressed audio stays the same bytes. The fingerprint hashes exactly what
decoding reads: the first audio stream's codec, rate, channels and set-up (FFmpeg's
extradata, which holds no tags: it keeps Vorbis comments apart) and every packet's payload,
demuxed without decoding (about 30 ms for a four-minute Ogg Vorbis file). So two files of one
fingerprint decode to the same samples, and a cache may hand one the other's views.
"""

from __future__ import annotations

import hashlib
import os

import av

from tunetag.errors import AudioDecodeError


def audio_fingerprint(path: str | os.PathLike) -> str:
    """The hex digest of the file's first audio stream: its decoding set-up and packets.

    Raises
    ------
    AudioDecodeError
        ``<path>: <reason>`` when FFmpeg cannot read the file or it has no audio stream.
    """
    digest = hashlib.blake2b(digest_size=20)
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioDecodeError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            codec = stream.codec_context
            digest.update(repr((codec.name, codec.sample_rate, codec.channels)).encode())
            digest.update(bytes(codec.extradata or b""))
            for packet in container.demux(stream):
                if packet.size:
                    digest.update(memoryview(packet))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioDecodeError(f"{path}: not a readable audio file") from exc
    return digest.hexdigest()
