"""Kernel variant choices from shapes (no browser needed): attention tiled vs per-query, linear 128x128 vs 64x64."""
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
