"""Pack tensor bytes into shard files named by their sha256, each tensor 256-byte aligned.

Layout rules (the manifest records the result, readers never re-derive it):
  - tensors are placed in the order given; each starts at a multiple of ALIGN inside its shard, so
    the glue can upload it (queue.writeBuffer needs 4-byte multiples) or bind a shard-sized buffer
    at that offset (minStorageBufferOffsetAlignment is 256 on every WebGPU adapter);
  - a tensor that does not fit in what is left of the current shard starts a new shard;
  - a tensor larger than a whole shard is split into spans that fill shards to the limit; every
    span but the last is a multiple of ALIGN bytes long;
  - gaps are zero bytes, and every tensor's nbytes is a multiple of 4 (zero-padded), so shards are
    byte-identical for identical input.
"""
import hashlib
from pathlib import Path

ALIGN = 256


def padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


class ShardWriter:
    def __init__(self, folder: Path, shard_bytes: int, on_shard=None):
        if shard_bytes % ALIGN:
            raise ValueError(f"shard size {shard_bytes} is not a multiple of {ALIGN}")
        self.folder, self.limit, self.on_shard = folder, shard_bytes, on_shard
        self.shards: list[dict] = []          # {file, nbytes, sha256}, in order
        self._buf = bytearray()

    def add(self, data: bytes) -> list[dict]:
        """Place one tensor's bytes; returns its spans [{shard, byte_offset, nbytes}]."""
        data = padded(data)
        start = len(self._buf) + (-len(self._buf) % ALIGN)
        if start + len(data) > self.limit and len(data) <= self.limit:
            self._flush()           # fits in a fresh shard: do not split it
            start = 0
        if start >= self.limit:
            self._flush()
            start = 0
        self._buf.extend(b"\0" * (start - len(self._buf)))
        spans, pos = [], 0
        while pos < len(data):
            room = self.limit - len(self._buf)
            piece = data[pos:pos + room]
            spans.append({"shard": len(self.shards), "byte_offset": len(self._buf), "nbytes": len(piece)})
            self._buf.extend(piece)
            pos += len(piece)
            if len(self._buf) >= self.limit and pos < len(data):
                self._flush()
        return spans

    def close(self) -> list[dict]:
        if self._buf:
            self._flush()
        return self.shards

    def _flush(self) -> None:
        data = bytes(self._buf)
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest}.bin"
        (self.folder / name).write_bytes(data)
        self.shards.append({"file": name, "nbytes": len(data), "sha256": digest})
        self._buf = bytearray()
        if self.on_shard:
            self.on_shard(self.shards[-1])
