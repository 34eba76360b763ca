"""Weight layouts the CPU kernels consume (shaders/README.md, "CPU kernels"). Pure Python.

Linear weights W are PyTorch's [N_out, K_in] (out = x @ W^T + b). f16, q8 and q4 are byte for byte
`staticml.quant`'s packing (what the converter ships for the GPU); f32 has a CPU layout:
  f32 : panels [ceil(N/8), K, 8] f32 - columns n..n+7 of W^T interleaved, zero-padded past N
        (pack.pack_f32 at convert time, or the kernel `pack_f32` at load from row-major bytes)
  f16 : row-major [N, K] f16 bits, each row padded to an even count (u16 pairs per u32)
  q8  : row-major [N, K] int8, each row padded to a multiple of 4 (4 per u32) + f32 scale[N];
        w = q * scale[n], symmetric (q in -127..127)
  q4  : row-major [N, 4 * ceil(K/32)] u32 (rows padded to whole groups), nibble j of word i is
        k = 8i + j (lowest nibble first); w = (nibble - 8) * scale[n, k // 32], scales f32 [N, ceil(K/32)]
"""
from .. import quant
DTYPES = ("f32", "f16", "q8", "q4")
PANEL = 8


def _check(dtype: str, N: int, K: int) -> None:
    if dtype not in DTYPES:
        raise ValueError(f"unknown CPU weight dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if N < 1 or K < 1:
        raise ValueError(f"a weight needs N >= 1 and K >= 1, got N={N}, K={K}")


def weight_nbytes(dtype: str, N: int, K: int) -> int:
    """Bytes of the weight data itself (without scales) in the layout above."""
    _check(dtype, N, K)
    if dtype == "f32":
        return 4 * K * PANEL * -(-N // PANEL)
    return 4 * N * quant.row_words(dtype, K)


def scale_count(dtype: str, N: int, K: int) -> int:
    """f32 scales that go with the weight (0 for f32/f16)."""
    _check(dtype, N, K)
    return {"f32": 0, "f16": 0, "q8": N, "q4": N * quant.groups(K)}[dtype]
