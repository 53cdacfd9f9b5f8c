"""A minimal MATLAB v5 .mat reader for the numeric arrays, strings and cell arrays the hand datasets use.

Why not scipy: NYU's joint_data.mat is the only .mat file the project reads, it needs three variables (numeric
arrays and a cell array of strings), and scipy would be a large runtime dependency for that. This reader
follows the published MAT-file format (level 5): a 128-byte header, then top-level data elements, each an
miMATRIX or an miCOMPRESSED (zlib) wrapper around one. It supports numeric classes (real only), char and
cell; structs, objects, sparse and complex arrays are reported as unsupported only when asked for by name.
Variables not asked for are skipped without decompressing them beyond their header. Imports numpy and zlib.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from app.errors import InputError

# Data types (the tag's type field) and the numpy dtype of each numeric one.
MI_INT8, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32 = 1, 2, 3, 4, 5, 6
MI_SINGLE, MI_DOUBLE, MI_INT64, MI_UINT64 = 7, 9, 12, 13
MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32 = 14, 15, 16, 17, 18
_MI_DTYPES = {MI_INT8: "i1", MI_UINT8: "u1", MI_INT16: "i2", MI_UINT16: "u2", MI_INT32: "i4", MI_UINT32: "u4",
              MI_SINGLE: "f4", MI_DOUBLE: "f8", MI_INT64: "i8", MI_UINT64: "u8", MI_UTF8: "u1",
              MI_UTF16: "u2", MI_UTF32: "u4"}

# Array classes (low byte of the array-flags word).
MX_CELL, MX_STRUCT, MX_OBJECT, MX_CHAR, MX_SPARSE = 1, 2, 3, 4, 5
_MX_DTYPES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_COMPLEX_FLAG = 0x0800
_HEADER_BYTES = 128
_PEEK_BYTES = 512   # decompressed bytes that always hold an array's flags, dims and name


class _Unsupported(Exception):
    """An array class this reader does not decode (raised only for variables that were asked for)."""


def read_mat(path: str | Path, names: tuple[str, ...] | None = None) -> dict[str, object]:
    """Read the variables `names` (all decodable ones when None) from a MATLAB v5 file.

    Numeric arrays come back as numpy arrays of their MATLAB class with MATLAB's shape (column-major data
    reordered, so a[i, j, k] is MATLAB's a(i+1, j+1, k+1)); char arrays as str (one row) or a list of str;
    cell arrays as numpy object arrays. Raises InputError (one line, naming the file) when the file is not a
    v5 MAT-file, is truncated, or a requested variable is missing or of an unsupported kind.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _read_variables(f, path, names)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None


def _read_variables(f, path: Path, names: tuple[str, ...] | None) -> dict[str, object]:
    header = f.read(_HEADER_BYTES)
    if len(header) < _HEADER_BYTES or header[126:128] not in (b"IM", b"MI"):
        raise InputError(f"{path} is not a MATLAB v5 MAT-file")
    endian = "<" if header[126:128] == b"IM" else ">"
    if struct.unpack(endian + "H", header[124:126])[0] != 0x0100:
        # v7.3 files carry the same 128-byte header with version 0x0200 and are HDF5 underneath.
        raise InputError(f"{path} is a MATLAB v7.3 (HDF5) file; re-save it with save(..., '-v7')")
    wanted = None if names is None else set(names)
    out: dict[str, object] = {}
    while wanted is None or wanted - out.keys():
        tag = f.read(8)
        if len(tag) == 0:
            break
        if len(tag) < 8:
            raise InputError(f"{path} is truncated (incomplete data element tag)")
        mtype, nbytes = struct.unpack(endian + "II", tag)
        if mtype == MI_COMPRESSED:
            start = f.tell()
            head = zlib.decompressobj().decompress(f.read(min(nbytes, 4096)), _PEEK_BYTES)
            name = _peek_name(head, endian, path)
            f.seek(start)
            if wanted is None or name in wanted:
                try:
                    body = zlib.decompress(f.read(nbytes))
                except zlib.error as e:
                    raise InputError(f"{path}: variable '{name}' is corrupt ({e})") from None
                _store(out, name, body, endian, path, wanted)
            else:
                f.seek(start + nbytes)
        elif mtype == MI_MATRIX:
            body = f.read(nbytes)
            if len(body) < nbytes:
                raise InputError(f"{path} is truncated (variable data ends early)")
            _store(out, None, tag + body, endian, path, wanted)
        else:
            f.seek(nbytes + (-nbytes % 8), 1)   # top-level non-array data: skip it and its padding
    if wanted is not None and wanted - out.keys():
        missing = ", ".join(sorted(wanted - out.keys()))
        raise InputError(f"{path} has no variable {missing}")
    return out


def _store(out: dict, name: str | None, element: bytes, endian: str, path: Path, wanted: set | None) -> None:
    """Decode one top-level miMATRIX element (tag included) into out[name]."""
    if name is None:
        name = _peek_name(element, endian, path)
    if wanted is not None and name not in wanted:
        return
    try:
        value, _ = _parse_element(memoryview(element), 0, endian)
    except _Unsupported as e:
        if wanted is None:
            return                              # reading everything: skip kinds we do not decode
        raise InputError(f"{path}: variable '{name}' is {e}, which this reader does not decode") from None
    except (struct.error, ValueError, IndexError) as e:
        raise InputError(f"{path}: variable '{name}' is malformed ({e})") from None
    out[name] = value


def _peek_name(element: bytes, endian: str, path: Path) -> str:
    """The variable name of an miMATRIX element from its first bytes (tag, flags, dims, name)."""
    try:
        buf = memoryview(element)
        mtype, _ = struct.unpack_from(endian + "II", buf, 0)
        if mtype != MI_MATRIX:
            raise ValueError("not an array")
        pos = 8
        for _ in range(2):                       # array flags, dimensions
            _, _, pos = _sub_element(buf, pos, endian)
        _, raw, _ = _sub_element(buf, pos, endian)
        return bytes(raw).decode("ascii")
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: malformed variable header ({e})") from None


def _sub_element(buf: memoryview, pos: int, endian: str) -> tuple[int, memoryview, int]:
    """(type, payload, next position) of the data element at pos, either tag format."""
    first, second = struct.unpack_from(endian + "II", buf, pos)
    if first >> 16:                             # small data element: type and size share the first word
        mtype, nbytes = first & 0xFFFF, first >> 16
        if nbytes > 4:
            raise ValueError("small data element larger than 4 bytes")
        return mtype, buf[pos + 4:pos + 4 + nbytes], pos + 8
    end = pos + 8 + second
    if end > len(buf):
        raise ValueError("data element runs past its parent")
    return first, buf[pos + 8:end], end + (-second % 8)


def _numeric(mtype: int, raw: memoryview, endian: str) -> np.ndarray:
    if mtype not in _MI_DTYPES:
        raise ValueError(f"unknown data type {mtype}")
    return np.frombuffer(raw, dtype=np.dtype(_MI_DTYPES[mtype]).newbyteorder(endian))


def _parse_element(buf: memoryview, pos: int, endian: str) -> tuple[object, int]:
    """Decode the miMATRIX at pos -> (value, next position)."""
    mtype, body, nxt = _sub_element(buf, pos, endian)
    if mtype != MI_MATRIX:
        raise ValueError(f"expected an array element, found data type {mtype}")
    if len(body) == 0:                          # an empty cell element is written as a bare tag
        return np.zeros((0, 0)), nxt
    p = 0
    _, flags_raw, p = _sub_element(body, p, endian)
    flags = int(_numeric(MI_UINT32, flags_raw[:4], endian)[0])
    mx_class = flags & 0xFF
    dtype, dims_raw, p = _sub_element(body, p, endian)
    dims = tuple(int(d) for d in _numeric(dtype, dims_raw, endian))
    _, _, p = _sub_element(body, p, endian)     # the name (already known at top level, empty inside cells)
    count = int(np.prod(dims)) if dims else 0
    if mx_class == MX_CELL:
        cells = np.empty(count, dtype=object)
        for i in range(count):
            cells[i], p = _parse_element(body, p, endian)
        return cells.reshape(dims, order="F"), nxt
    if mx_class == MX_CHAR:
        ctype, raw, p = _sub_element(body, p, endian)
        if ctype == MI_UTF8:
            text = bytes(raw).decode("utf-8")
            return text, nxt
        codes = _numeric(ctype, raw, endian).astype(np.uint32).reshape(dims, order="F")
        rows = ["".join(chr(c) for c in row) for row in codes.reshape(dims[0], -1)]
        return (rows[0] if len(rows) == 1 else rows), nxt
    if mx_class in _MX_DTYPES:
        if flags & _COMPLEX_FLAG:
            raise _Unsupported("complex")
        rtype, raw, p = _sub_element(body, p, endian)
        # MATLAB may store a double array in a narrower integer type: convert to the array's class.
        values = _numeric(rtype, raw, endian).astype(_MX_DTYPES[mx_class])
        if values.size != count:
            raise ValueError(f"{values.size} values for dimensions {dims}")
        return values.reshape(dims, order="F"), nxt
    kind = {MX_STRUCT: "a struct", MX_OBJECT: "an object", MX_SPARSE: "sparse"}.get(mx_class, f"class {mx_class}")
    raise _Unsupported(kind)
