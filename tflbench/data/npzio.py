"""Row access to the arrays of an ``.npz`` without reading them whole.

:func:`open_member` opens one member for reading rows on demand: members stored uncompressed
(``np.savez``) are read in place; compressed members (``np.savez_compressed``) are first
inflated once into a temporary folder, chunk by chunk, and read from there (``access="mmap"``
maps the file instead of reading it). :mod:`tflbench.data.npz` (lazy loading) and
:mod:`tflbench.data.stream` (streaming) both read through it.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO

import numpy as np

from tflbench.data.arrays import object_array_error
from tflbench.errors import DataError


class Rows(ABC):
    """Rows of one stored array, read on demand."""

    dtype: np.dtype
    shape: tuple[int, ...]

    @abstractmethod
    def take(self, rows: np.ndarray) -> np.ndarray: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the file."""


class FileRows(Rows):
    """Rows of a C-ordered array stored raw in a file at ``offset``, read with plain reads."""

    def __init__(self, path: Path, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> None:
        self.path, self.offset, self.dtype, self.shape = path, offset, dtype, shape
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize

    def take(self, rows: np.ndarray) -> np.ndarray:
        # The file is opened per call: no handle outlives a read, so a long-lived lazy array
        # holds no open file.
        with open(self.path, "rb") as fh:
            return self._take(fh, rows)

    def _take(self, fh: IO[bytes], rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        flat = out.reshape(len(rows), -1).view(np.uint8)
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        # read runs of consecutive rows with one read each
        breaks = np.flatnonzero(np.diff(srt) != 1) + 1
        for run in np.split(np.arange(len(srt)), breaks):
            if not len(run):
                continue
            first = int(srt[run[0]])
            fh.seek(self.offset + first * self.row_bytes)
            buf = fh.read(len(run) * self.row_bytes)
            if len(buf) != len(run) * self.row_bytes:
                raise DataError(f"'{self.path}' is truncated: rows {first}.. are missing.")
            flat[order[run]] = np.frombuffer(buf, dtype=np.uint8).reshape(len(run), -1)
        return out


class MmapRows(Rows):
    def __init__(self, path: Path, offset: int, dtype: np.dtype, shape: tuple[int, ...],
                 fortran: bool) -> None:
        self.dtype, self.shape = dtype, shape
        self._mm: np.memmap | None = np.memmap(path, dtype=dtype, mode="r", offset=offset,
                                               shape=shape, order="F" if fortran else "C")

    def take(self, rows: np.ndarray) -> np.ndarray:
        assert self._mm is not None
        return np.asarray(self._mm[rows])

    def close(self) -> None:
        self._mm = None


def read_member_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            # version 3.0 (utf-8 field names) has no public reader
            shape, fortran, dtype = fmt._read_array_header(fh, version)  # type: ignore[attr-defined]
    except ValueError as exc:
        raise DataError(f"{where} is not a valid .npy array ({exc}). Write it again.") from None
    if dtype.hasobject:
        raise object_array_error(where)
    return tuple(int(d) for d in shape), bool(fortran), dtype


def open_member(path: Path, key: str, tmp: Path, access: str) -> Rows:
    """Open array ``key`` of an .npz for row access without reading it all into memory."""
    member = f"{key}.npy"
    where = f"Array '{key}' in '{path}'"
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
        if info.compress_type == zipfile.ZIP_STORED:
            with open(path, "rb") as fh:
                fh.seek(info.header_offset)
                local = fh.read(30)
                if local[:4] != b"PK\x03\x04":
                    raise DataError(f"'{path}' is a corrupt zip archive. Write it again.")
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                fh.seek(info.header_offset + 30 + name_len + extra_len)
                shape, fortran, dtype = read_member_header(fh, where)
                offset = fh.tell()
            data_path = path
        else:
            data_path = tmp / member
            with zf.open(member) as src, open(data_path, "wb") as dst:
                shape, fortran, dtype = read_member_header(src, where)
                shutil.copyfileobj(src, dst, 1 << 20)
            offset = 0
    if access == "mmap" or fortran:
        return MmapRows(data_path, offset, dtype, shape, fortran)
    return FileRows(data_path, offset, dtype, shape)
