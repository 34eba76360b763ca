"""Weight layouts the CPU kernels consume (shaders/README.md, "CPU kernels"). Pure Python.

Linear weights W are PyTorch's [N_out, K_in] (out = x @ W^T + b). f16, q8 and q4 are byte for byte
`staticml.quant`'s packing (what the converter ships for the GPU); f32 and q8p are CPU layouts made from
the shipped bytes (at load by a kernel, or at convert time by `pack`):
  f32 : panels [ceil(N/8), K, 8] f32 - columns n..n+7 of W^T interleaved, zero-padded past N
        (pack.pack_f32 at convert time, or the kernel `pack_f32` at load from row-major bytes)
  f16 : row-major [N, K] f16 bits, each row padded to an even count (u16 pairs per u32)
  q8  : row-major [N, K] int8, each row padded to a multiple of 4 (4 per u32) + f32 scale[N];
        w = q * scale[n], symmetric (q in -127..127)
  q8p : q8's int8 values as panels [ceil(N/8), Kp/2, 8, 2], Kp = K rounded up to 8: for each pair of k,
        the two values of each of 8 columns side by side; zeros past N and K; the same scale[N] as q8
        (pack.pack_q8p, or the kernel `pack_q8` at load from q8 bytes). The fast q8 path: x is rounded
        to int16 per row and the sums are exact int32 (shaders/cpu/matmul_q8.c)
  q8x7: q8's int8 values as panels [ceil(N/8), Kp/4, 8, 4] (for each 4 k, the four values of each of 8
        columns side by side; zeros past N and K), then int32 column sums [ceil(N/8) * 8]; q8's scale[N]
        (pack.pack_q8x7, or the kernel `pack_q8x7`). For the relaxed int8 dot product with x rounded to 7 bits
        per row (shaders/cpu/matmul_q8x7.c): measured, not used by the model code (shaders/README.md)
  q4  : row-major [N, 4 * ceil(K/32)] u32 (rows padded to whole groups), nibble j of word i is
        k = 8i + j (lowest nibble first); w = (nibble - 8) * scale[n, k // 32], scales f32 [N, ceil(K/32)]

CPU_LAYOUT says which layout the CPU backend should load a shipped dtype into (f32 -> f32 panels,
q8 -> q8p; f16 and q4 as shipped): `CpuKernels.fetch_linear_weight(url, off, CPU_LAYOUT[dtype], N, K)`
then `CpuKernels.matmul(..., dtype=CPU_LAYOUT[dtype], scales=...)`.
"""
from .. import quant
DTYPES = ("f32", "f16", "q8", "q8p", "q8x7", "q4")
CPU_LAYOUT = {"f32": "f32", "f16": "f16", "q8": "q8p", "q4": "q4"}
PANEL = 8


def _check(dtype: str, N: int, K: int) -> None:
    if dtype not in DTYPES:
        raise ValueError(f"unknown CPU weight dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if N < 1 or K < 1:
        raise ValueError(f"a weight needs N >= 1 and K >= 1, got N={N}, K={K}")


def q8p_k(K: int) -> int:
    """K rounded up to 8: the q8p and q8x7 panels' (and the integer copy of x's) row length."""
    return -(-K // 8) * 8


def weight_nbytes(dtype: str, N: int, K: int) -> int:
    """Bytes of the weight data itself (without scales) in the layout above."""
    _check(dtype, N, K)
    if dtype == "f32":
        return 4 * K * PANEL * -(-N // PANEL)
    if dtype == "q8p":
        return q8p_k(K) * PANEL * -(-N // PANEL)
    if dtype == "q8x7":   # panels, then an int32 sum per (padded) column
        return (q8p_k(K) + 4) * PANEL * -(-N // PANEL)
    return 4 * N * quant.row_words(dtype, K)


def scale_count(dtype: str, N: int, K: int) -> int:
    """f32 scales that go with the weight (0 for f32/f16)."""
    _check(dtype, N, K)
    return {"f32": 0, "f16": 0, "q8": N, "q8p": N, "q8x7": N, "q4": N * quant.groups(K)}[dtype]


def q8_activation_max(K: int) -> int:
    """The int16 range +-qx that q8p Linear layers round each row of x to (shaders/cpu/matmul_q8.c): as
    large as keeps every int32 sum of Kp products with int8 weights (|w| <= 127) exact, at most 32767."""
    return min(32767, (2 ** 31 - 1) // (q8p_k(K) * 127))
