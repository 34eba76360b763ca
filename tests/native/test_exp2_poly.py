"""The base-2 exponential of the CPU attention kernel (shaders/cpu/attention.c, `exp2_nonpos`): its polynomial is
the fit below, and its f32 arithmetic, emulated step by step in numpy, stays within 2.5e-7 of 2^x (relative) on
x <= 0, with exact zeros where the kernel promises them. The browser tests run the kernel itself against the
attention reference (tests/browser/cpu_cases.py); this pins down the constants.

    python tests/native/test_exp2_poly.py    # prints the C table rows of the fitted coefficients
"""
import re
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).resolve().parents[2] / "shaders" / "cpu" / "attention.c"
DEGREE = 5


def fit(degree: int = DEGREE) -> np.ndarray:
    """Coefficients c0..c_degree of p(f) ~ 2^f on [-0.5, 0.5] with the least maximum relative error
    (Lawson's iteratively reweighted least squares on Chebyshev nodes)."""
    n = 4000
    f = 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    V = np.vander(f, degree + 1, increasing=True) / np.exp2(f)[:, None]   # relative error: p(f) / 2^f - 1
    w = np.full(n, 1.0 / n)
    for _ in range(200):
        c, *_ = np.linalg.lstsq(V * np.sqrt(w)[:, None], np.sqrt(w), rcond=None)
        w *= np.abs(V @ c - 1)
        w /= w.sum()
    return c.astype(np.float32)


def c_rows(c: np.ndarray) -> list:
    return ["  {" + ", ".join([f"{float(v):.10e}f"] * 4) + "}," for v in c]


def kernel_table() -> np.ndarray:
    """sm_exp2_k's rows as written in attention.c: clamp, rounding constant, c0..c5."""
    body = re.search(r"float sm_exp2_k\[\]\[4\] = \{(.*?)\};", SOURCE.read_text(), re.S).group(1)
    rows = re.findall(r"\{([^{}]*)\}", body)
    values = [[float(v.strip().rstrip("f")) for v in r.split(",")] for r in rows]
    assert all(len(set(r)) == 1 for r in values), "every lane of a constant is the same"
    return np.array([r[0] for r in values], np.float32)


def fma32(a, b, c):
    """f32 fused multiply-add (one rounding): the product of two f32 is exact in f64."""
    return (a.astype(np.float64) * b + c).astype(np.float32)


def exp2_nonpos(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """exp2_nonpos step by step in f32, as the relaxed-SIMD build runs it."""
    lo, magic, c = k[0], k[1], k[2:]
    x = np.maximum(x.astype(np.float32), lo)
    t = (x + magic).astype(np.float32)
    f = (x - (t - magic).astype(np.float32)).astype(np.float32)
    p = np.full_like(f, c[-1])
    for ci in c[-2::-1]:
        p = fma32(p, f, ci)
    bias = np.int32(127 - 0x4B400000)
    pow2n = ((t.view(np.int32) + bias) << 23).view(np.float32)
    return (p * pow2n).astype(np.float32)


def test_the_kernel_holds_the_fitted_polynomial():
    k = kernel_table()
    assert k[0] == -127.0 and k[1] == 1.5 * 2 ** 23
    np.testing.assert_array_equal(k[2:], fit())


def test_exp2_is_within_2_5e_7_relative_on_the_range_that_matters():
    x = -np.linspace(0, 126, 2_000_001, dtype=np.float64).astype(np.float32)
    got = exp2_nonpos(x, kernel_table()).astype(np.float64)
    rel = np.abs(got / np.exp2(x.astype(np.float64)) - 1)
    assert rel.max() < 2.5e-7, rel.max()


def test_masked_and_underflowing_scores_give_exact_zeros():
    k = kernel_table()
    x = np.array([-np.inf, -1e30, -200, -127, -126.6], np.float32)
    np.testing.assert_array_equal(exp2_nonpos(x, k), 0.0)
    # just above the flush: 2^x, a subnormal there, to within its last places
    x = np.array([-126.4], np.float32)
    y = float(exp2_nonpos(x, k)[0])
    assert y > 0 and abs(y - 2 ** float(x[0])) <= 2 ** -148


if __name__ == "__main__":
    print("\n".join(c_rows(fit())))
