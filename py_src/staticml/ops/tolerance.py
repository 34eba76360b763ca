"""How close a kernel's f32 output must be to its numpy reference: the ONE place tests and debug
mode take tolerances from. A check passes when |got - ref| <= atol + rtol * |ref| elementwise.

Why these numbers (eps = 2^-24 ≈ 6e-8, the f32 unit roundoff):
- The references accumulate in float64 and round once, so the gap is the kernel's own f32
  rounding. A K-term dot product in f32 is off by at most ~K·eps·sum|x_k w_k| (sequential
  summation), typically ~sqrt(K)·eps·that; `linear`/`matmul` allow 1e-6·K·scale (16x over the
  worst-case ulp walk for the tiled, partly-FMA order the GPU uses).
- Weight dtypes do not change the kernel tolerance: the reference multiplies by quant.unpack's
  float32 weights, and the kernel dequantizes to the same values (f16 -> f32 is exact; q*scale is
  one correctly rounded f32 multiply on both sides). What quantization loses against the float
  weights is a separate, documented bound (QUANT_ERROR below), checked natively in test_quant.
- Elementwise add/mul is one IEEE operation on both sides: exact.
- Row reductions (norms, softmax, pooling) sum C values: 1e-5 relative covers C <= 4096.
  WGSL's exp/inverseSqrt/pow are not correctly rounded (a few ulp): included in that margin.
- Attention = two reductions over Tk plus an online-softmax rescale: 1e-5 + 1e-4 relative.
- Rotary: the angle pos·f is formed in f32 and WGSL's pow/sin/cos carry ~1e-6 relative error, so
  the absolute error grows with the position: 4e-6 · (max position + 1).
- Copies, concat, argmax and the gather itself move bits: exact.
- The CPU's fast q8 path (q8p, shaders/cpu/matmul_q8.c) rounds each row of x to integers in ±x_levels
  before an exact int32 dot product: each x is then off by at most max|x_row| / (2·x_levels), so the
  sum by at most K·scale / (2·x_levels) (a worst case; added to the f32 bound when `x_levels` is given).
"""
# |w - unpack(pack(w))| per element, as a fraction of the row's (q8) or group's (q4) max |w|
QUANT_ERROR = {"f32": 0.0, "f16": 2.0 ** -11, "q8": 0.5 / 127, "q4": 0.5 / 7}

EXACT = ("copy", "contiguous", "concat", "argmax", "add", "mul")


def tolerance(op: str, K: int = 1, scale: float = 1.0, max_pos: int = 0, x_levels: int = 0) -> tuple[float, float]:
    """(atol, rtol) for `op`. K: reduction length of a matmul; scale: max|x|·max|w| (>= 1 used);
    max_pos: the largest rotary position; x_levels: a linear whose x is rounded to ±x_levels steps per row."""
    scale = max(1.0, float(scale))
    if op in EXACT:
        return 0.0, 0.0
    if op in ("linear", "matmul"):
        return 1e-6 * K * scale + (K * scale / (2 * x_levels) if x_levels else 0.0), 1e-6
    if op in ("layer_norm", "rms_norm", "l2_normalize", "softmax", "mean_pool", "embedding"):
        return 1e-5 * scale, 1e-5
    if op == "attention":
        return 1e-5 * scale, 1e-4
    if op == "rotary":
        return 4e-6 * (max_pos + 1) * scale, 1e-5
    raise ValueError(f"no tolerance defined for op {op!r}")


def check(op: str, got, ref, **ctx) -> float:
    """Raise AssertionError naming the op if got is not within tolerance of ref; return max |error|."""
    import numpy as np

    got, ref = np.asarray(got), np.asarray(ref)
    if got.shape != ref.shape:
        raise AssertionError(f"{op}: shape {got.shape} != reference {ref.shape}")
    if got.dtype.kind in "iu":
        bad = int((got != ref).sum())
        if bad:
            raise AssertionError(f"{op}: {bad} of {got.size} integer values differ from the reference")
        return 0.0
    atol, rtol = tolerance(op, **ctx)
    g, r = got.astype(np.float64), ref.astype(np.float64)
    err = np.abs(g - r)
    ok = (err <= atol + rtol * np.abs(r)) | (np.isnan(g) & np.isnan(r))
    if not ok.all():
        i = np.unravel_index(int(np.argmax(np.where(ok, 0, err))), got.shape)
        raise AssertionError(f"{op}: {int((~ok).sum())} of {got.size} values off (atol {atol:.3g}, rtol {rtol:.3g}); "
                             f"worst at {tuple(int(v) for v in i)}: got {g[i]!r}, reference {r[i]!r}")
    return float(np.nan_to_num(err, nan=0.0).max(initial=0.0))
