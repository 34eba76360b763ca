"""staticml.cpu.blocks: the free list over the CPU kernels' bump arena. Natively, over a byte-exact model of
shaders/cpu/arena.c's contract (64-byte lines, top moved only by alloc and reset); the browser test
(test_ops_cpu.py) runs the same class over the real kernels."""
import random

import pytest

from staticml.cpu.blocks import LINE, Blocks, span


class BumpArena:
    """arena.c's contract: alloc(n) returns the top and moves it by n rounded up to 64; reset(mark) moves it back."""

    def __init__(self, base: int = 4096):
        self.top = base

    def alloc(self, nbytes: int) -> int:
        ptr, self.top = self.top, self.top + span(nbytes)
        return ptr

    def mark(self) -> int:
        return self.top

    def reset(self, mark: int) -> None:
        assert mark <= self.top, "reset may only move the top down here"
        self.top = mark


def test_span_is_whole_lines_of_at_least_four_bytes():
    assert [span(n) for n in (0, 1, 4, 63, 64, 65, 1000)] == [64, 64, 64, 64, 64, 128, 1024]


def test_a_reloaded_model_takes_its_old_memory_under_a_later_block():
    arena = BumpArena()
    blocks = Blocks(arena)
    model = [blocks.alloc(n) for n in (1536 * 384 * 4, 384 * 4, 30522 * 384 * 4, 12)]
    resident = blocks.alloc(100)       # another model, loaded after: the first one's memory is a hole below it
    top = arena.mark()
    for _ in range(3):
        for ptr in model:
            blocks.release(ptr)
        assert blocks.free_bytes() == sum(span(n) for n in (1536 * 384 * 4, 384 * 4, 30522 * 384 * 4, 12))
        model = [blocks.alloc(n) for n in (1536 * 384 * 4, 384 * 4, 30522 * 384 * 4, 12)]
        assert arena.mark() == top and blocks.free_bytes() == 0   # no growth: every block came from the hole
    blocks.release(resident)
    for ptr in model:
        blocks.release(ptr)
    assert arena.mark() == 4096 and blocks.free_bytes() == 0     # all of it back to the arena


def test_a_block_too_big_for_every_hole_comes_from_the_top():
    arena = BumpArena()
    blocks = Blocks(arena)
    small, keep = blocks.alloc(64), blocks.alloc(64)
    blocks.release(small)
    big = blocks.alloc(128)
    assert big == keep + 64 and arena.mark() == big + 128 and blocks.free_bytes() == 64
    assert blocks.alloc(10) == small                              # the hole fits a small block later


def test_releasing_what_is_not_a_block_is_an_error():
    blocks = Blocks(BumpArena())
    ptr = blocks.alloc(10)
    blocks.release(ptr)
    with pytest.raises(ValueError, match="not a block in use"):
        blocks.release(ptr)
    with pytest.raises(ValueError, match="not a block in use"):
        blocks.release(12345)


@pytest.mark.parametrize("seed", range(20))
def test_random_alloc_release_keeps_blocks_apart_and_the_free_list_tidy(seed):
    rng = random.Random(seed)
    arena = BumpArena()
    blocks = Blocks(arena)
    live = {}
    for _ in range(400):
        if live and rng.random() < 0.45:
            ptr = rng.choice(sorted(live))
            blocks.release(ptr)
            del live[ptr]
        else:
            n = rng.choice([1, 60, 64, 100, 4096, rng.randrange(1, 50000)])
            ptr = blocks.alloc(n)
            assert ptr % LINE == 0 and ptr not in live
            live[ptr] = span(n)
        spans = sorted(live.items())
        assert all(a + s <= b for (a, s), (b, _) in zip(spans, spans[1:])), "two blocks overlap"
        assert not spans or spans[-1][0] + spans[-1][1] <= arena.mark()
        free = blocks._free
        assert all(a + s < b for (a, s), (b, _) in zip(free, free[1:])), "adjacent free runs were not merged"
        assert not free or free[-1][0] + free[-1][1] < arena.mark(), "free space at the top was not given back"
        for a, s in free:    # no free run overlaps a block in use
            assert all(p + ps <= a or a + s <= p for p, ps in live.items())
        assert blocks.used_bytes() + blocks.free_bytes() == arena.mark() - 4096   # every byte accounted for
    for ptr in list(live):
        blocks.release(ptr)
    assert arena.mark() == 4096 and blocks.free_bytes() == 0
