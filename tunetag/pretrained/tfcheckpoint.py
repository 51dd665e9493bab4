"""Read TensorFlow checkpoints (the TensorBundle format) with numpy alone.

Pretrained weights ship as TensorFlow checkpoints, and TensorFlow is far too heavy (and too
tied to old numpy) to be a dependency for reading them. A checkpoint is two files: ``.index``
is a LevelDB table (blocks of prefix-compressed keys, an index block, a footer) mapping each
tensor name to a small protobuf message (dtype, shape, and where its bytes lie), and
``.data-00000-of-00001`` holds the raw bytes. Only what TensorFlow writes for float
checkpoints in one shard without compression is read; anything else is a clear error.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from tunetag.errors import TunetagError

_MAGIC = 0xDB4775248B80FB57  # LevelDB table magic number, the footer's last 8 bytes
_FOOTER_BYTES = 48
_TRAILER_BYTES = 5  # after each block: compression type (1 byte) and a CRC (4 bytes)
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}  # TensorFlow DataType
_OPTIMIZER_SLOTS = ("/Adam", "/Adam_1", "beta1_power", "beta2_power")


class CheckpointError(TunetagError):
    """A checkpoint file is missing, damaged or of a kind this reader does not handle."""


def read_checkpoint(prefix: str | os.PathLike, *, optimizer: bool = False) -> dict[str, np.ndarray]:
    """Every tensor of a TensorFlow checkpoint, by name.

    Parameters
    ----------
    prefix : path-like
        The checkpoint's path without its suffixes: ``model`` for ``model.index`` and
        ``model.data-00000-of-00001``; a folder with a trailing separator (``"ckpt/"``) where
        the files have no base name (``ckpt/.index``).
    optimizer : bool
        Keep the optimizer's slots (Adam's moments and powers), which are of no use for
        inference and are two thirds of a checkpoint written during training.

    Returns
    -------
    dict of str to np.ndarray
        Tensor name -> read-only array with the checkpoint's dtype and shape, in the
        checkpoint's (sorted) order.

    Raises
    ------
    CheckpointError
        ``<file>: <reason>`` for a missing or damaged file, several shards, or a dtype
        this reader does not know.
    """
    index_path = Path(f"{os.fspath(prefix)}.index")
    data_path = Path(f"{os.fspath(prefix)}.data-00000-of-00001")
    for path in (index_path, data_path):
        if not path.is_file():
            raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        entries = _table_entries(index_path)
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{index_path}: damaged checkpoint index ({exc})") from exc
    data = data_path.read_bytes()
    tensors = {}
    for name, value in entries:
        if not name or (not optimizer and any(slot in name for slot in _OPTIMIZER_SLOTS)):
            continue  # the empty key is the bundle's header
        try:
            tensors[name] = _tensor(name, _message(value), data, data_path)
        except (IndexError, struct.error, ValueError) as exc:
            raise CheckpointError(f"{index_path}: damaged entry of {name!r} ({exc})") from exc
    return tensors


def _tensor(name: str, entry: dict, data: bytes, data_path: Path) -> np.ndarray:
    """The array a BundleEntryProto points at in the data file."""
    dtype_code = entry.get(1, [1])[0]
    if dtype_code not in _DTYPES:
        raise CheckpointError(f"{data_path}: tensor {name!r} has dtype {dtype_code}, not read")
    if entry.get(3, [0])[0] != 0:
        raise CheckpointError(f"{data_path}: tensor {name!r} lies in another shard")
    shape = [_message(dim).get(1, [0])[0] for dim in _message(entry.get(2, [b""])[0]).get(2, [])]
    offset, size = entry.get(4, [0])[0], entry.get(5, [0])[0]
    dtype = np.dtype(_DTYPES[dtype_code]).newbyteorder("<")
    if offset + size > len(data) or size != dtype.itemsize * int(np.prod(shape)):
        raise CheckpointError(f"{data_path}: tensor {name!r} does not fit the data file")
    array = np.frombuffer(data, dtype=dtype, count=size // dtype.itemsize, offset=offset)
    return array.reshape(shape)


def _table_entries(path: Path) -> list[tuple[str, bytes]]:
    """Every (key, value) of a LevelDB table file, in key order."""
    table = path.read_bytes()
    if len(table) < _FOOTER_BYTES:
        raise CheckpointError(f"{path}: too short for a checkpoint index")
    footer = table[-_FOOTER_BYTES:]
    if struct.unpack("<Q", footer[-8:])[0] != _MAGIC:
        raise CheckpointError(f"{path}: not a checkpoint index (wrong magic number)")
    position = 0
    _, position = _varint(footer, position)  # metaindex block: offset, size (unused)
    _, position = _varint(footer, position)
    index_offset, position = _varint(footer, position)
    index_size, _ = _varint(footer, position)
    entries = []
    for _, handle in _block_entries(_block(table, index_offset, index_size, path)):
        offset, position = _varint(handle, 0)
        size, _ = _varint(handle, position)
        entries += _block_entries(_block(table, offset, size, path))
    return [(key.decode("utf-8"), value) for key, value in entries]


def _block(table: bytes, offset: int, size: int, path: Path) -> bytes:
    """One block's bytes, checked to be stored without compression."""
    if offset + size + _TRAILER_BYTES > len(table):
        raise CheckpointError(f"{path}: a block runs past the end of the file")
    if table[offset + size] != 0:
        raise CheckpointError(f"{path}: compressed blocks are not read")
    return table[offset : offset + size]


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """A block's entries: each key shares a prefix with the one before it."""
    restarts = struct.unpack("<I", block[-4:])[0]
    end = len(block) - 4 * (restarts + 1)
    entries, key, position = [], b"", 0
    while position < end:
        shared, position = _varint(block, position)
        unshared, position = _varint(block, position)
        value_size, position = _varint(block, position)
        key = key[:shared] + block[position : position + unshared]
        position += unshared
        entries.append((key, block[position : position + value_size]))
        position += value_size
    return entries


def _message(buffer: bytes) -> dict[int, list]:
    """A protobuf message as field number -> values (ints, or bytes for nested messages)."""
    fields: dict[int, list] = {}
    position = 0
    while position < len(buffer):
        tag, position = _varint(buffer, position)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, position = _varint(buffer, position)
        elif wire == 1:
            value, position = struct.unpack_from("<Q", buffer, position)[0], position + 8
        elif wire == 2:
            size, position = _varint(buffer, position)
            value, position = buffer[position : position + size], position + size
        elif wire == 5:
            value, position = struct.unpack_from("<I", buffer, position)[0], position + 4
        else:
            raise CheckpointError(f"protobuf wire type {wire} is not read")
        fields.setdefault(number, []).append(value)
    return fields


def _varint(buffer: bytes, position: int) -> tuple[int, int]:
    """A little-endian base-128 integer at ``position``, and the position after it."""
    result, shift = 0, 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
