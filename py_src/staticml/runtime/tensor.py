"""Backend-neutral tensors: a view (shape, strides, offset, dtype) of a Storage (one buffer's bytes).

A Storage is what a backend allocates: a GPU buffer on WebGPU, a flat numpy array natively, a range
of wasm memory later. Tensors never hold data themselves, so the same model code records a plan
whatever runs it. Views (reshape of contiguous data, transpose, slice) share the Storage; ops that
need contiguous input insert a copy (`ops.contiguous`).
"""
from dataclasses import dataclass, field

ITEMSIZE = {"f32": 4, "i32": 4, "u32": 4}


@dataclass(eq=False)
class Storage:
    nbytes: int
    kind: str            # "input" | "weight" | "temp"
    name: str = ""
    handle: object = None  # backend data for weights: a numpy array, or a GPU buffer id
    backend: object = None  # the backend that owns `handle` (weights only)


def contiguous_strides(shape) -> tuple:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return tuple(reversed(strides))


@dataclass(eq=False)
class Tensor:
    storage: Storage
    shape: tuple
    dtype: str = "f32"
    strides: tuple = None
    offset: int = 0            # in elements
    plan: object = None        # the Plan that produces it; None for weights
    node: object = field(default=None, repr=False)  # producing node, for debug traces

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        if any(d < 0 for d in self.shape):
            raise ValueError(f"negative dimension in shape {self.shape}")
        if self.dtype not in ITEMSIZE:
            raise ValueError(f"tensor dtype must be one of {sorted(ITEMSIZE)}, not {self.dtype!r}")
        if self.strides is None:
            self.strides = contiguous_strides(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def is_contiguous(self) -> bool:
        return self.strides == contiguous_strides(self.shape) or self.numel <= 1

    def _view(self, shape, strides, offset) -> "Tensor":
        return Tensor(self.storage, shape, self.dtype, tuple(strides), offset, self.plan, self.node)

    def reshape(self, *shape) -> "Tensor":
        """A view with a new shape (one dimension may be -1); needs contiguous data."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if shape.count(-1) > 1:
            raise ValueError(f"reshape{shape}: at most one dimension may be -1")
        known = 1
        for d in shape:
            known *= d if d != -1 else 1
        if -1 in shape:
            if known == 0 or self.numel % known:
                raise ValueError(f"cannot reshape {self.shape} into {shape}")
            shape = tuple(self.numel // known if d == -1 else d for d in shape)
        if known != self.numel and -1 not in shape:
            raise ValueError(f"cannot reshape {self.shape} ({self.numel} values) into {shape}")
        if not self.is_contiguous:
            raise ValueError(f"reshape of a non-contiguous view {self.shape}/{self.strides}: "
                             "call ops.contiguous(x) first")
        return self._view(shape, contiguous_strides(shape), self.offset)

    def transpose(self, a: int, b: int) -> "Tensor":
        """Swap two dimensions (a view: no data moves)."""
        a, b = a % self.ndim, b % self.ndim
        shape, strides = list(self.shape), list(self.strides)
        shape[a], shape[b] = shape[b], shape[a]
        strides[a], strides[b] = strides[b], strides[a]
        return self._view(shape, strides, self.offset)

    def slice(self, dim: int, start: int, stop: int) -> "Tensor":
        """x[..., start:stop, ...] along `dim` (a view)."""
        dim = dim % self.ndim
        if not 0 <= start <= stop <= self.shape[dim]:
            raise ValueError(f"slice [{start}:{stop}] is outside dimension {dim} of size {self.shape[dim]}")
        shape = list(self.shape)
        shape[dim] = stop - start
        return self._view(shape, self.strides, self.offset + start * self.strides[dim])

    def unflatten(self, dim: int, sizes) -> "Tensor":
        """Split dimension `dim` into `sizes` (a view, valid for any strides): [B, T, H*D] -> [B, T, H, D]."""
        dim = dim % self.ndim
        sizes = tuple(int(s) for s in sizes)
        n = 1
        for s in sizes:
            n *= s
        if n != self.shape[dim]:
            raise ValueError(f"unflatten: {sizes} does not multiply to dimension {dim} of size {self.shape[dim]}")
        inner = contiguous_strides(sizes)
        strides = tuple(s * self.strides[dim] for s in inner)
        return self._view(self.shape[:dim] + sizes + self.shape[dim + 1:],
                          self.strides[:dim] + strides + self.strides[dim + 1:], self.offset)

    def __repr__(self) -> str:
        return f"Tensor({self.dtype}{list(self.shape)}, {self.storage.kind} {self.storage.name!r})"


@dataclass(eq=False)
class Weight:
    """A matmul weight [N, K] in one of quant.DTYPES: packed u32 words (+ f32 scales for q8/q4)."""
    dtype: str
    N: int
    K: int
    words: Tensor            # u32 [N, row_words]
    scales: Tensor | None    # f32 [N] (q8) or [N, ceil(K/32)] (q4)

    @property
    def shape(self) -> tuple:
        return (self.N, self.K)
