"""A device-wide pool of storage buffers, reused across plans (and within a plan by liveness).

Sizes are rounded up to a power of two (at least 256 bytes), so a buffer freed by one shape
bucket serves the next; `trim()` gives the idle ones back to the GPU.
"""
from ..gpu import usage

MIN_BYTES = 256


def size_class(nbytes: int) -> int:
    n = MIN_BYTES
    while n < nbytes:
        n *= 2
    return n


class BufferPool:
    def __init__(self, device):
        self.device = device
        self._free: dict[int, list[int]] = {}  # size class -> idle buffer ids
        self._size: dict[int, int] = {}         # buffer id -> size class (every buffer the pool made)

    def acquire(self, nbytes: int) -> int:
        cls = size_class(nbytes)
        idle = self._free.get(cls)
        if idle:
            return idle.pop()
        buf = self.device.buffer(cls, usage.STORAGE_RW)
        self._size[buf] = cls
        return buf

    def release(self, buf: int) -> None:
        self._free.setdefault(self._size[buf], []).append(buf)

    def idle(self) -> int:
        return sum(len(v) for v in self._free.values())

    def trim(self) -> None:
        """Destroy every idle buffer (e.g. after a model is unloaded)."""
        for ids in self._free.values():
            for buf in ids:
                self.device.release(buf)
                del self._size[buf]
        self._free.clear()
