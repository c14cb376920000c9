"""Arrays too large to load: read from disk in place, page by page, as a step reaches them.

An ``.npz`` that ``numpy.savez`` wrote (not ``savez_compressed``) stores each array as a plain
``.npy`` file inside the zip, uncompressed: ``mapped`` finds where its bytes start and returns a
read-only ``numpy.memmap`` of them, which every NumPy operation reads as an array without the
whole of it ever being in memory. The work dir's ``data/split.npz`` is written that way, so a
split of images larger than memory is mapped, not loaded, by every step after step 1; so is
your own ``--data FILE.npz`` when it was saved uncompressed. A compressed array, or one under
``inputs.LARGE_BYTES``, is loaded as before. Nothing here unpickles: an object array is never
mapped.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from stackgen.data import inputs

LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length


def mapped(path: Path, name: str) -> np.memmap | None:
    """Array ``name`` of the ``.npz`` at ``path`` as a read-only memory map, or None where it
    cannot be one (compressed, of Python objects, empty, or not in the archive)."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(path, "rb") as fh:
            fh.seek(info.header_offset)
            signature, name_length, extra_length = LOCAL_HEADER.unpack(fh.read(30))
            if signature != b"PK\x03\x04":
                return None
            entry_start = info.header_offset + 30 + name_length + extra_length
            fh.seek(entry_start)
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
            offset = fh.tell()
    except (KeyError, OSError, ValueError, struct.error, zipfile.BadZipFile):
        return None
    if dtype.hasobject or not all(shape) or not shape:
        return None
    data_bytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if offset - entry_start + data_bytes != info.file_size:
        return None  # a header that does not describe its entry: loaded (and refused) instead
    order = "F" if fortran else "C"
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)


def nbytes(path: Path, name: str) -> int:
    """The size array ``name`` takes in the archive (0 if it is not there)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.getinfo(f"{name}.npy").file_size
    except (KeyError, OSError, zipfile.BadZipFile):
        return 0


def mapped_if_large(path: Path, npz, name: str) -> np.ndarray:
    """Array ``name`` of the open ``npz`` (``np.load``'s), mapped where it is large and can be;
    else loaded."""
    if nbytes(path, name) >= inputs.LARGE_BYTES:
        found = mapped(path, name)
        if found is not None:
            return found
    return npz[name]


def all_finite(a: np.ndarray) -> bool:
    """Whether every value of ``a`` is finite, read a block of rows at a time."""
    if not np.issubdtype(a.dtype, np.floating):
        return True
    return all(np.isfinite(block).all() for block in inputs.blocks(a))


def largest_magnitude(a: np.ndarray) -> float:
    """The largest absolute value in ``a`` (0 for no values), a block of rows at a time."""
    return max((float(np.abs(block).max(initial=0)) for block in inputs.blocks(a)), default=0.0)


def float32(a: np.ndarray) -> np.ndarray:
    """``a`` as float32: in memory as usual, or, for a large array of another type (uint8 images
    mapped from your .npz), converted a block of rows at a time into a memory map of a file
    already unlinked (its space is freed when the array is)."""
    if a.dtype == np.float32 or a.nbytes * 4 // a.dtype.itemsize < inputs.LARGE_BYTES:
        return inputs.as_float32(a)
    out = empty_on_disk(a.shape)
    start = 0
    for block in inputs.blocks(a):
        out[start : start + len(block)] = block
        start += len(block)
    return out


def empty_on_disk(shape: tuple[int, ...]) -> np.ndarray:
    """A float32 array of ``shape`` backed by a temporary file, unlinked at once."""
    fd, name = tempfile.mkstemp(suffix=".npy")
    os.close(fd)
    try:
        return np.lib.format.open_memmap(name, mode="w+", dtype=np.float32, shape=shape)
    finally:
        os.unlink(name)
