"""The CPU kernels' weight layouts (staticml.cpu.layout) and their numpy packers (staticml.cpu.pack)."""
import numpy as np
import pytest

from staticml.cpu import layout, pack


@pytest.mark.parametrize("N,K", [(1, 1), (3, 17), (8, 32), (17, 127), (9, 384)])
def test_pack_f32_interleaves_eight_columns_per_panel(N, K):
    w = np.arange(N * K, dtype=np.float32).reshape(N, K)
    panels = np.frombuffer(pack.pack_f32(w), np.float32).reshape(-1, K, 8)
    assert panels.nbytes == layout.weight_nbytes("f32", N, K)
    for n in range(N):
        np.testing.assert_array_equal(panels[n // 8, :, n % 8], w[n])
    padded = panels.transpose(0, 2, 1).reshape(-1, K)[N:]
    assert not padded.any()   # columns past N are zeros


@pytest.mark.parametrize("N,K", [(1, 1), (3, 17), (5, 64), (7, 127)])
def test_q8_is_symmetric_per_row_and_round_trips(N, K):
    w = np.random.default_rng(N * K).normal(0, 1, (N, K)).astype(np.float32)
    wq, s = pack.quantize_q8(w)
    assert len(wq) == layout.weight_nbytes("q8", N, K) and len(s) == 4 * layout.scale_count("q8", N, K)
    q = np.frombuffer(wq, np.int8).reshape(N, -1)
    assert np.abs(q[:, :K]).max(axis=1).tolist() == [127] * N and not q[:, K:].any()
    back = pack.dequantize_q8(wq, s, N, K)
    assert np.abs(back - w).max() <= np.abs(w).max(axis=1).max() / 254 + 1e-6   # half a step


@pytest.mark.parametrize("N,K", [(1, 1), (3, 17), (5, 64), (7, 127)])
def test_q4_nibbles_and_group_scales_round_trip(N, K):
    w = np.random.default_rng(N + K).normal(0, 1, (N, K)).astype(np.float32)
    wq, s = pack.quantize_q4(w)
    assert len(wq) == layout.weight_nbytes("q4", N, K) and len(s) == 4 * layout.scale_count("q4", N, K)
    back = pack.dequantize_q4(wq, s, N, K)
    scales = np.repeat(np.frombuffer(s, np.float32).reshape(N, -1), 32, axis=1)[:, :K]
    assert (np.abs(back - w) <= scales / 2 + 1e-6).all()
    # nibble j of word i is k = 8i + j, lowest first
    words = np.frombuffer(wq, np.uint32).reshape(N, -1)
    k = K - 1
    nib = (words[0, k // 8] >> (4 * (k % 8))) & 15
    assert back[0, k] == (int(nib) - 8) * scales[0, k]


def test_f16_rows_are_padded_to_even_length():
    w = np.random.default_rng(0).normal(0, 1, (3, 5)).astype(np.float32)
    data = pack.pack_f16(w)
    assert len(data) == layout.weight_nbytes("f16", 3, 5) == 3 * 6 * 2
    np.testing.assert_array_equal(np.frombuffer(data, np.float16).reshape(3, 6)[:, :5], w.astype(np.float16))


def test_bad_layout_requests_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown CPU weight dtype 'bf16'"):
        layout.weight_nbytes("bf16", 2, 2)
    with pytest.raises(ValueError, match="N >= 1 and K >= 1"):
        layout.weight_nbytes("f32", 0, 2)
    with pytest.raises(ValueError, match="must be 2-D"):
        pack.pack_f32(np.zeros(3))


@pytest.mark.parametrize("N,K", [(1, 1), (3, 17), (8, 32), (17, 127), (9, 384)])
def test_q8p_puts_the_two_values_of_each_k_pair_of_8_columns_side_by_side(N, K):
    w = np.random.default_rng(N * K + 1).normal(0, 1, (N, K)).astype(np.float32)
    wq, s = pack.quantize_q8(w)
    packed, s2 = pack.quantize_q8p(w)
    assert s2 == s and packed == pack.pack_q8p(wq, N, K)
    kp = layout.q8p_k(K)
    assert kp % 8 == 0 and kp - 8 < K <= kp
    panels = np.frombuffer(packed, np.int8).reshape(-1, kp // 2, 8, 2)
    assert panels.nbytes == layout.weight_nbytes("q8p", N, K) and layout.scale_count("q8p", N, K) == N
    q = np.frombuffer(wq, np.int8).reshape(N, -1)
    for n in range(N):
        for k in range(K):
            assert panels[n // 8, k // 2, n % 8, k % 2] == q[n, k]
    full = panels.transpose(0, 2, 1, 3).reshape(-1, kp)
    assert not full[N:].any() and not full[:, K:].any()   # zeros past N and K


def test_q8_activation_range_keeps_int32_sums_exact():
    for K in [1, 8, 384, 512, 513, 1536, 4096, 16384]:
        qx = layout.q8_activation_max(K)
        assert 1 <= qx <= 32767
        assert layout.q8p_k(K) * 127 * qx < 2 ** 31
    assert layout.q8_activation_max(384) == 32767 and layout.q8_activation_max(1536) == 11008


def test_every_shipped_dtype_has_a_cpu_layout():
    assert set(layout.CPU_LAYOUT) == {"f32", "f16", "q8", "q4"}
    assert set(layout.CPU_LAYOUT.values()) <= set(layout.DTYPES)
