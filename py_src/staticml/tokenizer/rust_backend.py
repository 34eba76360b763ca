"""The native backend: the Rust `tokenizers` library (never imported inside Pyodide)."""
from .encoding import Encoding, PaddingParams


class RustBackend:
    name = "rust"
    has_offsets = True

    def __init__(self, text: str):
        from tokenizers import Tokenizer as RustTokenizer

        self.tok = RustTokenizer.from_str(text)

    def num_special_tokens(self) -> int:
        return self.tok.post_processor.num_special_tokens_to_add(False) if self.tok.post_processor else 0

    def encode_batch(self, texts: list[str], add_special_tokens: bool, max_length: int | None, truncate_left: bool,
                     pad_to: int | str | None, padding: PaddingParams) -> list[Encoding]:
        tok = self.tok
        if max_length is None:
            tok.no_truncation()
        else:
            tok.enable_truncation(max_length, direction="left" if truncate_left else "right")
        if pad_to is None:
            tok.no_padding()
        else:
            tok.enable_padding(direction="left" if padding.left else "right", pad_id=padding.pad_id,
                               pad_type_id=padding.pad_type_id, pad_token=padding.pad_token,
                               length=None if pad_to == "longest" else pad_to,
                               pad_to_multiple_of=padding.pad_to_multiple_of)
        encs = tok.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return [Encoding(e.ids, e.attention_mask, e.type_ids, e.offsets) for e in encs]

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self.tok.decode(ids, skip_special_tokens=skip_special_tokens)
