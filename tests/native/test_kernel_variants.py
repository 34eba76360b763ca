"""Kernel variant choices from shapes (no browser needed): attention tiled vs per-query, linear 128x128 vs 64x64,
skinny, split-K."""
import struct

import numpy as np

from staticml.ops.dispatch import DUMMY, UNUSED, Scratch
from staticml.runtime import Plan, ops
from staticml.runtime.numpy_backend import NumpyBackend
from staticml.ops import attention, linear


def test_tile_choice_and_workgroups():
    assert attention.tile(32) == (32, 32) and attention.tile(1) == (32, 32)
    assert attention.tile(48) == (64, 16) and attention.tile(64) == (64, 16)
    assert attention.tile(65) is None and attention.tile(256) is None
    assert attention.workgroups(512, 128, 12, 32) == (2, 12, 512)   # MiniLM batch 512: 64-query blocks
    assert attention.workgroups(1, 5, 1, 256) == (5, 1, 1)          # fallback: one workgroup per query
    assert attention.kernel_key(32) != attention.kernel_key(64) != attention.kernel_key(128)
    assert "const DP: u32 = 64u;" in attention.source(48) and "fn main_tiled" in attention.source(48)


def test_linear_big_tiles_only_for_large_grids():
    assert linear.big_tiles(65536, 384)             # MiniLM batch 512: 512 x 3 workgroups of 128x128
    assert not linear.big_tiles(4096, 384)          # batch 32: 96 big workgroups would idle SMs
    assert not linear.big_tiles(16, 1536)           # a short sentence
    assert not linear.big_tiles(65536, 384, software=True) and not linear.big_tiles(1, 1, software=True, force=True)
    assert linear.big_tiles(1, 1, force=True)
    assert linear.workgroups(65536, 384, tile="big") == (3, 512, 1)
    assert linear.kernel_key("q8", tile="big") == "linear_q8_128x128x16" and linear.entry("big") == "main_128"


def test_linear_skinny_tiles_for_few_rows():
    """A short query (16 rows) or a search query against a corpus runs main_skinny: N / 8 workgroups
    instead of N / 64, unless the adapter is software or a test forces the variant."""
    assert linear.tiles(16, 384, K=384) == "skinny" and linear.tiles(1, 100_000, K=384) == "skinny"   # a search
    assert linear.tiles(64, 1536, K=384) == "skinny" and linear.tiles(65, 1536, K=384) == "tiled"    # wide outputs
    assert linear.tiles(256, 384, K=1536) == "skinny" and linear.tiles(256, 384, K=384) == "skinny"
    assert linear.tiles(linear.SKINNY_MAX_M + 1, 384, K=1536) == "tiled"
    assert linear.tiles(65536, 384) == "big" and linear.tiles(4096, 384) == "tiled"
    assert linear.tiles(16, 384, software=True) == "direct" and linear.tiles(16, 384, software=True, thin=True) == "direct"
    assert linear.tiles(4096, 384, thin=True) == "skinny" and linear.tiles(16, 384, thin=False, K=384) == "tiled"
    assert linear.tiles(65536, 384, big=True, thin=True) == "skinny"     # thin wins: the test forcing it means it
    assert linear.workgroups(16, 384, tile="skinny") == (48, 1, 1) and linear.workgroups(17, 1536, 2, "skinny") == (192, 2, 2)
    assert linear.kernel_key("f16", True, "skinny") == "linear_f16native_skinny16x8" and linear.entry("skinny") == "main_skinny"
    assert linear.workgroups(16, 384) == (6, 1, 1)                         # main: what a short query used to get


def test_linear_split_k_where_the_64x64_grid_is_small():
    """main's grid below SPLIT_MIN_WORKGROUPS with K >= SPLIT_MIN_K gets K slices of SPLIT_STEPS steps, a grid of at
    most SPLIT_SMALL_GRID workgroups 2 slices: MiniLM at batch 32 (M = 1024) splits its FFN output linear (1536 -> 384,
    96 workgroups) in 4, at batch 8 (M = 65..128) the q/k/v and FFN input ones (36 and 48) in 2; nothing at 72-96
    workgroups with K = 384 or on a large grid; the skinny, 128x128 and direct kernels never split."""
    assert linear.k_splits(1024, 384, 1536) == (4, 384) and linear.k_splits(1024, 384, 384) == (1, 384)
    assert linear.k_splits(1024, 1152, 384) == (1, 384) and linear.k_splits(248, 1536, 384) == (1, 384)
    assert linear.k_splits(112, 1152, 384) == (2, 192) and linear.k_splits(112, 1536, 384) == (2, 192)
    assert linear.k_splits(4096, 384, 1536) == (1, 1536)     # 384 workgroups already
    assert linear.k_splits(1024, 384, 1000) == (1, 1000)     # K below SPLIT_MIN_K, grid above SPLIT_SMALL_GRID
    assert linear.k_splits(112, 384, 255) == (1, 255)        # K below SPLIT_SMALL_MIN_K
    assert linear.k_splits(1024, 384, 1024) == (2, 512) and linear.k_splits(64, 64, 4096) == (8, 512)
    assert linear.k_splits(128, 4096, 11008)[0] == linear.SPLIT_MAX_SLICES   # an LLM's FFN: the scratch stays bounded
    for tile in ("skinny", "big", "direct"):
        assert linear.k_splits(16, 384, 1536, tile) == (1, 1536) and linear.k_splits(16, 384, 1536, tile, 4) == (1, 1536)
    assert linear.k_splits(65536, 384, 1536, force=2) == (2, 768) and linear.k_splits(1, 1, 1, force=3) == (1, 1)
    for K in range(1, 700, 7):   # forced or chosen: every slice a whole number of TK-steps, none empty, K covered
        for force in (None, 1, 2, 3, 5, 100):
            n, chunk = linear.k_splits(64, 64, K, force=force)
            assert n == 1 and chunk == K or (chunk % linear.TK == 0 and (n - 1) * chunk < K <= n * chunk)


def test_a_split_linear_is_main_into_a_scratch_then_splitk_sum():
    be = NumpyBackend()
    plan = Plan()
    x = plan.input("x", (1024, 1536))
    w = be.weight("w", np.ones((384, 1536), np.float32), "q4")
    node = ops.linear(x, w, be.constant("b", (384,), "f32", [0.0] * 384), act="gelu_erf",
                      residual=plan.input("r", (1024, 384))).node
    part, total = linear.encode_linear(node, software=False)
    u = {f: v for f, v in zip([f.name for f in linear.dataclasses.fields(linear.LinearUniforms)],
                              struct.unpack("<13I", part.uniforms[:52]))}
    assert (part.entry, part.key, part.groups) == ("main", "linear_q4_64x64x32", (6, 16, 4))
    assert (u["k_chunk"], u["out_batch"], u["act"], u["has_bias"], u["has_res"]) == (384, 1024 * 384, 0, 0, 0)
    assert part.buffers[3:5] == [DUMMY, DUMMY] and part.buffers[5] == Scratch(4 * 1024 * 384 * 4)
    t = dict(zip(u, struct.unpack("<13I", total.uniforms[:52])))
    assert (total.entry, total.key, total.groups) == ("splitk_sum", linear.SPLIT_SUM_KEY, (1536, 1, 1))
    assert (t["splits"], t["act"], t["has_bias"], t["has_res"], t["k_chunk"]) == (4, linear.ACTS["gelu_erf"], 1, 1, 0)
    assert total.buffers[0] is part.buffers[5] and total.buffers[5] is node.out and total.buffers[4] is node.inputs["residual"]
    assert total.buffers[1:3] == [UNUSED, UNUSED]      # splitk_sum never reads w or scales: not in its layout
    assert "fn splitk_sum" in total.source and "const W_KIND: u32 = 0u;" in total.source   # one pipeline, any kind
    assert len(linear.encode_linear(node, software=False, splits=1)) == 1
    assert len(linear.encode_linear(node, software=True)) == 1
