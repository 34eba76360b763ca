"""staticml.quant: the packed weight layouts (exact bits), their round trips and their error bounds."""
import numpy as np
import pytest

from staticml import quant
from staticml.ops.tolerance import QUANT_ERROR

rng = np.random.default_rng(7)


def test_q8_layout_bytes():
    w = np.array([[127, -127, 1, 0, -64]], np.float32)  # scale = 1: q equals w
    words, scales = quant.pack(w, "q8")
    assert scales.tolist() == [1.0]
    # little-endian bytes of k = 0..3 in word 0, k = 4 (+3 zero pad bytes) in word 1
    assert words.tobytes() == bytes([127, 129, 1, 0, 192, 0, 0, 0])


def test_q4_layout_bytes():
    w = np.zeros((1, 33), np.float32)
    w[0, :8] = [7, -7, 1, 0, 2, -1, 3, -3]
    w[0, 32] = -5.0
    words, scales = quant.pack(w, "q4")
    assert words.shape == (1, 8) and scales.shape == (1, 2)  # 2 groups of 32 -> 8 words
    assert scales[0, 0] == 1.0 and scales[0, 1] == pytest.approx(5 / 7)
    u = [7 + 8, -7 + 8, 9, 8, 10, 7, 11, 5]  # nibble i of word 0 holds k = i, stored as q + 8
    assert int(words[0, 0]) == sum(v << (4 * i) for i, v in enumerate(u))
    assert all(int(x) == 0x88888888 for x in words[0, 1:4])  # zeros of group 0
    assert int(words[0, 4]) & 0xF == 1 and int(words[0, 4]) >> 4 == 0x8888888  # q = -7 -> u = 1, then padding


def test_f16_layout_low_half_first():
    words, _ = quant.pack(np.array([[1.0, -2.0, 0.5]], np.float32), "f16")
    assert words.tolist() == [[0x3C00 | (0xC000 << 16), 0x3800]]


@pytest.mark.parametrize("dtype", quant.DTYPES)
@pytest.mark.parametrize("N,K", [(1, 1), (3, 17), (17, 127), (5, 384), (2, 1536)])
def test_round_trip_error_is_bounded(dtype, N, K):
    w = rng.standard_normal((N, K)).astype(np.float32)
    words, scales = quant.pack(w, dtype)
    assert words.dtype == np.uint32 and words.shape == (N, quant.row_words(dtype, K))
    back = quant.unpack(words, scales, dtype, N, K)
    err = np.abs(back - w)
    if dtype == "q4":
        G = quant.groups(K)
        padded = np.zeros((N, G * 32), np.float32)
        padded[:, :K] = np.abs(w)
        ref = np.repeat(padded.reshape(N, G, 32).max(2), 32, axis=1)[:, :K]
    elif dtype == "f16":
        ref = np.abs(w)
    else:
        ref = np.repeat(np.abs(w).max(1, keepdims=True), K, axis=1)
    assert (err <= QUANT_ERROR[dtype] * ref * (1 + 1e-6) + 1e-30).all()


def test_zero_rows_and_bad_input():
    words, scales = quant.pack(np.zeros((2, 40), np.float32), "q4")
    assert (quant.unpack(words, scales, "q4", 2, 40) == 0).all()
    with pytest.raises(ValueError, match="2-D"):
        quant.pack(np.zeros(3), "q8")
    with pytest.raises(ValueError, match="NaN or Inf"):
        quant.pack(np.array([[np.nan]]), "q8")
    with pytest.raises(ValueError, match="unknown weight dtype"):
        quant.pack(np.zeros((1, 1)), "q3")
