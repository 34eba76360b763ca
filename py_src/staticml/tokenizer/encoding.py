"""What encode / encode_batch return, and the padding both backends share the rules of."""
from dataclasses import dataclass, field


@dataclass
class Encoding:
    ids: list[int]
    attention_mask: list[int]
    token_type_ids: list[int]
    offsets: list[tuple[int, int]] | None = None  # char offsets into the text; None where the backend has none

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class BatchEncoding:
    """Row i belongs to text i; with padding every row has the same length."""
    ids: list[list[int]] = field(default_factory=list)
    attention_mask: list[list[int]] = field(default_factory=list)
    token_type_ids: list[list[int]] = field(default_factory=list)
    offsets: list[list[tuple[int, int]]] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> Encoding:
        return Encoding(self.ids[i], self.attention_mask[i], self.token_type_ids[i],
                        None if self.offsets is None else self.offsets[i])

    @classmethod
    def of(cls, rows: list[Encoding]) -> "BatchEncoding":
        has_offsets = all(r.offsets is not None for r in rows)
        return cls([r.ids for r in rows], [r.attention_mask for r in rows], [r.token_type_ids for r in rows],
                   [r.offsets for r in rows] if has_offsets and rows else None)


@dataclass(frozen=True)
class PaddingParams:
    """tokenizer.json's `padding` section (Rust's defaults where the file has none)."""
    pad_id: int = 0
    pad_type_id: int = 0
    pad_token: str = "[PAD]"
    left: bool = False
    pad_to_multiple_of: int | None = None

    def target(self, length: int) -> int:
        m = self.pad_to_multiple_of
        return length + (m - length % m) % m if m else length


def pad(row: Encoding, length: int, params: PaddingParams) -> Encoding:
    """Pad one row to `length` (never shortens), like Rust's `Encoding::pad`."""
    n = length - len(row.ids)
    if n <= 0:
        return row
    fill = ([params.pad_id] * n, [0] * n, [params.pad_type_id] * n, [(0, 0)] * n)
    if params.left:
        return Encoding(fill[0] + row.ids, fill[1] + row.attention_mask, fill[2] + row.token_type_ids,
                        None if row.offsets is None else fill[3] + row.offsets)
    return Encoding(row.ids + fill[0], row.attention_mask + fill[1], row.token_type_ids + fill[2],
                    None if row.offsets is None else row.offsets + fill[3])
