"""ops.attention picks the query-tiled kernel for D <= 64 and the per-query fallback above (no browser needed)."""
from staticml.ops import attention


def test_tile_choice_and_workgroups():
    assert attention.tile(32) == (32, 32) and attention.tile(1) == (32, 32)
    assert attention.tile(48) == (64, 16) and attention.tile(64) == (64, 16)
    assert attention.tile(65) is None and attention.tile(256) is None
    assert attention.workgroups(512, 128, 12, 32) == (2, 12, 512)   # MiniLM batch 512: 64-query blocks
    assert attention.workgroups(1, 5, 1, 256) == (5, 1, 1)          # fallback: one workgroup per query
    assert attention.kernel_key(32) != attention.kernel_key(64) != attention.kernel_key(128)
    assert "const DP: u32 = 64u;" in attention.source(48) and "fn main_tiled" in attention.source(48)
