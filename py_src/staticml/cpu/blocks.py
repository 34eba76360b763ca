"""Long-lived blocks (weights, constants) in the CPU kernels' wasm memory, with a free list.

The kernels' arena (shaders/cpu/arena.c) only bumps its top and resets it to a mark (per-call temporaries).
Blocks handed out here come from that top; a released block goes on a free list, merged with free
neighbours, and the next block that fits reuses it (best fit), so reloading a model takes the memory its
old copy held instead of growing the wasm memory again. Free space that reaches the arena's top is given
back to the arena. (A wasm memory never shrinks; the browser frees it when the kernels are unloaded.)

Every block starts on a 64-byte line and spans a multiple of 64 bytes, as the arena lays them out.
"""
import bisect

LINE = 64


def span(nbytes: int) -> int:
    """Bytes the arena gives a block of nbytes (at least 4 bytes, rounded up to whole cache lines)."""
    return -(-max(4, nbytes) // LINE) * LINE


class Blocks:
    def __init__(self, arena):
        self.arena = arena                  # alloc(nbytes) -> ptr, mark() -> top, reset(mark): CpuKernels
        self.spans: dict[int, int] = {}     # ptr -> span of each block in use
        self._free: list[list[int]] = []    # [ptr, span] of free runs, sorted by ptr, never adjacent

    def alloc(self, nbytes: int) -> int:
        need = span(nbytes)
        fits = [i for i, (_, s) in enumerate(self._free) if s >= need]
        if fits:
            i = min(fits, key=lambda j: self._free[j][1])   # best fit: large runs stay whole for large blocks
            ptr, s = self._free[i]
            if s == need:
                del self._free[i]
            else:
                self._free[i] = [ptr + need, s - need]
        else:
            ptr = self.arena.alloc(need)
        self.spans[ptr] = need
        return ptr

    def release(self, ptr: int) -> None:
        if ptr not in self.spans:
            raise ValueError(f"{ptr} is not a block in use (released twice, or never allocated here)")
        run = [ptr, self.spans.pop(ptr)]
        i = bisect.bisect(self._free, run)
        if i < len(self._free) and run[0] + run[1] == self._free[i][0]:   # merge with the next free run
            run[1] += self._free.pop(i)[1]
        if i > 0 and self._free[i - 1][0] + self._free[i - 1][1] == run[0]:   # ...and the previous one
            i -= 1
            run = [self._free[i][0], self._free.pop(i)[1] + run[1]]
        if run[0] + run[1] == self.arena.mark():   # the top of the arena: give it back
            self.arena.reset(run[0])
        else:
            self._free.insert(i, run)

    def free_bytes(self) -> int:
        """Bytes on the free list (released, below the arena's top, waiting for a block that fits)."""
        return sum(s for _, s in self._free)

    def used_bytes(self) -> int:
        return sum(self.spans.values())
