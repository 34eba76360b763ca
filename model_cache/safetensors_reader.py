"""Read .safetensors files with every structural check the format allows, so a truncated or corrupted
file is a clear ConvertError naming the file and the tensor, never a numpy crash or silent garbage.

Format (the safetensors project's format documentation): 8-byte little-endian header length N, N bytes of
JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data block;
offsets are relative to the data block. We parse it ourselves (instead of safetensors.safe_open) to
report exactly what is wrong and to read BF16, which numpy has no dtype for. The tests compare our
arrays with the `safetensors` library's.
"""
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConvertError

# safetensors dtype -> numpy dtype of the stored bytes (BF16 is read as uint16 and widened below)
NUMPY_OF = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64,
            "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
FLOAT_DTYPES = ("F32", "F16", "BF16")
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the reference implementation's own limit


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str          # safetensors spelling: F32, F16, BF16, ...
    shape: tuple
    begin: int          # absolute byte offset in the file
    end: int
    file: Path


def read_header(path: Path) -> dict[str, TensorInfo]:
    """Validate the header and every tensor's byte range against the file size."""
    if not path.is_file():
        raise ConvertError(f"{path}: no such file (the model folder is incomplete; download it again)")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ConvertError(f"{path}: truncated safetensors file ({size} bytes, not even a header length); "
                               "download it again")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise ConvertError(f"{path}: corrupted or truncated safetensors file (header claims {n} bytes, the file has "
                               f"{size}); download it again")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConvertError(f"{path}: corrupted safetensors header (not valid JSON: {e}); download it again") from None
    if not isinstance(header, dict):
        raise ConvertError(f"{path}: corrupted safetensors header (not a JSON object); download it again")
    data_start = 8 + n
    tensors: dict[str, TensorInfo] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = meta["dtype"], tuple(int(d) for d in meta["shape"]), meta["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ConvertError(f"{path}: corrupted safetensors header entry for tensor {name!r}: {meta!r}") from None
        if dtype not in NUMPY_OF:
            raise ConvertError(f"{path}: tensor {name!r} has dtype {dtype}, which this converter does not know "
                               f"(known: {', '.join(NUMPY_OF)})")
        expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(NUMPY_OF[dtype]).itemsize
        if not (0 <= begin <= end) or end - begin != expected:
            raise ConvertError(f"{path}: corrupted safetensors header: tensor {name!r} {dtype}{list(shape)} needs "
                               f"{expected} bytes but its data_offsets are [{begin}, {end}]")
        if data_start + end > size:
            raise ConvertError(f"{path}: truncated safetensors file: tensor {name!r} ends at byte {data_start + end} "
                               f"but the file has only {size} bytes; download it again")
        tensors[name] = TensorInfo(name, dtype, shape, data_start + begin, data_start + end, path)
    spans = sorted((t.begin, t.end, t.name) for t in tensors.values())
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise ConvertError(f"{path}: corrupted safetensors header: tensors {n0!r} and {n1!r} overlap")
    return tensors


def load(info: TensorInfo) -> np.ndarray:
    """The tensor as a numpy array in its own dtype; BF16 is widened exactly to float32."""
    raw = np.fromfile(info.file, dtype=np.uint8, count=info.end - info.begin, offset=info.begin)
    if raw.size != info.end - info.begin:  # the file shrank after the header check
        raise ConvertError(f"{info.file}: truncated while reading tensor {info.name!r}; download it again")
    if info.dtype == "BF16":  # bf16 is the top half of an f32
        return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(info.shape)
    return raw.view(np.dtype(NUMPY_OF[info.dtype]).newbyteorder("<")).reshape(info.shape)
