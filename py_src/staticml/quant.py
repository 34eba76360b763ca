"""Weight packing for the `linear` kernel family (native numpy; the converter of issue 4 imports this).

Every matmul weight is stored like PyTorch's `nn.Linear.weight`: shape [N, K] (N = output features,
K = input features, the reduction dimension), row-major, one row per output channel, as little-endian
u32 words. `pack(w, dtype)` returns `(words, scales)`; `unpack(words, scales, dtype, N, K)` inverts it.

  dtype  words: uint32[N, row_words]                                      scales
  -----  --------------------------------------------------------------  -------------------------------
  f32    row_words = K; word j = the f32 bits of w[n, j]                  none
  f16    row_words = ceil(K/2); word j = f16(w[n,2j]) | f16(w[n,2j+1])<<16  none
         (low half first, as WGSL's unpack2x16float returns .x from bits 0..15; odd K pads with 0)
  q8     row_words = ceil(K/4); byte b of word j (bits 8b..8b+7) is the     float32[N]: one per output
         int8 two's-complement q[n, 4j+b]; padding bytes are 0             channel, scale = max|w[n,:]|/127
         w ≈ q * scale[n], q in [-127, 127] (symmetric, -128 unused)
  q4     groups of 32 along K; G = ceil(K/32); row_words = 4*G;           float32[N, G]: one per group,
         nibble i of word j (bits 4i..4i+3) is u = q + 8 for k = 8j+i,     scale = max|w[n, group]|/7
         q in [-7, 7] (u in [1, 15]; padding nibbles are u = 8, i.e. 0)
         w ≈ (u - 8) * scale[n, k // 32]

Byte layout on disk / on the GPU is exactly `words.tobytes()` and `scales.tobytes()` (little-endian).
A row of all zeros gets scale 0 (so it dequantizes to exact zeros).
"""
# numpy is imported inside the functions that need it: the layout helpers also run in the browser.

DTYPES = ("f32", "f16", "q8", "q4")
Q4_GROUP = 32


def row_words(dtype: str, K: int) -> int:
    """u32 words per output row of a packed [N, K] weight."""
    if dtype == "f32":
        return K
    if dtype == "f16":
        return -(-K // 2)
    if dtype == "q8":
        return -(-K // 4)
    if dtype == "q4":
        return 4 * groups(K)
    raise ValueError(f"unknown weight dtype {dtype!r}; expected one of {DTYPES}")


def groups(K: int) -> int:
    """q4 scale groups per output row."""
    return -(-K // Q4_GROUP)


def _check(w) -> "np.ndarray":
    import numpy as np

    w = np.asarray(w, dtype=np.float32)
    if w.ndim != 2:
        raise ValueError(f"a matmul weight must be 2-D [N, K] (out_features, in_features), got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("the weight holds NaN or Inf; quantizing it would hide that, fix the checkpoint first")
    return w


def pack(w, dtype: str) -> tuple["np.ndarray", "np.ndarray | None"]:
    """w: float [N, K] -> (uint32 [N, row_words], float32 scales or None). See the module doc."""
    import numpy as np

    w = _check(w)
    N, K = w.shape
    if dtype == "f32":
        return w.view(np.uint32).copy(), None
    if dtype == "f16":
        h = np.zeros((N, 2 * row_words("f16", K)), np.float16)
        h[:, :K] = w
        return h.view(np.uint32).copy(), None
    if dtype == "q8":
        scale = np.abs(w).max(axis=1) / 127.0  # [N]
        q = np.zeros((N, 4 * row_words("q8", K)), np.int8)
        safe = np.where(scale > 0, scale, 1.0)[:, None]
        q[:, :K] = np.clip(np.rint(w / safe), -127, 127).astype(np.int8)
        return q.view(np.uint32).copy(), scale.astype(np.float32)
    if dtype == "q4":
        G = groups(K)
        padded = np.zeros((N, G * Q4_GROUP), np.float32)
        padded[:, :K] = w
        grouped = padded.reshape(N, G, Q4_GROUP)
        scale = np.abs(grouped).max(axis=2) / 7.0  # [N, G]
        safe = np.where(scale > 0, scale, 1.0)[:, :, None]
        u = (np.clip(np.rint(grouped / safe), -7, 7) + 8).astype(np.uint32).reshape(N, G * Q4_GROUP // 8, 8)
        words = np.zeros(u.shape[:2], np.uint32)
        for i in range(8):  # nibble i holds k = 8j + i
            words |= u[:, :, i] << np.uint32(4 * i)
        return words, scale.astype(np.float32)
    raise ValueError(f"unknown weight dtype {dtype!r}; expected one of {DTYPES}")


def unpack(words, scales, dtype: str, N: int, K: int) -> "np.ndarray":
    """The float32 [N, K] matrix the GPU kernel multiplies by (dequantization's definition)."""
    import numpy as np

    words = np.ascontiguousarray(words, dtype=np.uint32).reshape(N, row_words(dtype, K))
    if dtype == "f32":
        return words.view(np.float32)[:, :K].copy()
    if dtype == "f16":
        return words.view(np.float16)[:, :K].astype(np.float32)
    if dtype == "q8":
        q = words.view(np.int8)[:, :K].astype(np.float32)
        return q * np.asarray(scales, np.float32).reshape(N, 1)
    if dtype == "q4":
        nib = np.stack([(words >> np.uint32(4 * i)) & np.uint32(15) for i in range(8)], axis=2)  # [N, W, 8]
        q = nib.reshape(N, -1)[:, :K].astype(np.float32) - 8.0
        s = np.repeat(np.asarray(scales, np.float32).reshape(N, groups(K)), Q4_GROUP, axis=1)[:, :K]
        return q * s
    raise ValueError(f"unknown weight dtype {dtype!r}; expected one of {DTYPES}")


def quantize_dequantize(w, dtype: str) -> "np.ndarray":
    """What a float weight becomes after a round trip through `dtype` (for accuracy studies)."""
    w = _check(w)
    words, scales = pack(w, dtype)
    return unpack(words, scales, dtype, *w.shape)
