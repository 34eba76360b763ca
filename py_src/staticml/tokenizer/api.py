"""`staticml.tokenizer.Tokenizer`: one API over the Rust library (native) and the pure-Python
tokenizer.json implementation (Pyodide, or native with backend="python").

Length rules, the same on both backends:
- max length = the `max_length` argument, else the model's max length (e.g. 256 for all-MiniLM-L6-v2,
  from sentence_bert_config.json), else the file's own `truncation.max_length`, else none;
- truncation=True cuts each text so that it plus its special tokens fits the max length (keeping the
  start, or the end when the file says direction "Left"); truncation=False never cuts;
- padding=True / "longest" pads a batch to its longest row, "max_length" to the max length, False not at
  all; pad id/token/type id/side and pad_to_multiple_of come from the file's `padding` section.
"""
import json
from pathlib import Path

from ..env import IN_PYODIDE
from .encoding import BatchEncoding, Encoding, PaddingParams, pad
from .errors import TokenizerError


def _padding_params(spec: dict) -> PaddingParams:
    p = spec.get("padding") or {}
    return PaddingParams(pad_id=p.get("pad_id", 0), pad_type_id=p.get("pad_type_id", 0),
                         pad_token=p.get("pad_token", "[PAD]"), left=p.get("direction", "Right") == "Left",
                         pad_to_multiple_of=p.get("pad_to_multiple_of") or None)


class Tokenizer:
    def __init__(self, text: str, model_max_length: int | None = None, backend: str | None = None):
        if not isinstance(text, str):
            raise TokenizerError(f"tokenizer.json must be given as text (str), not {type(text).__name__}; "
                                 "read the file with encoding='utf-8' or use Tokenizer.from_file(path)")
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as e:
            raise TokenizerError(f"this is not a tokenizer.json (invalid JSON: {e})") from None
        if not isinstance(spec, dict) or "model" not in spec:
            raise TokenizerError("this JSON has no 'model' section, so it is not a tokenizer.json")
        if model_max_length is not None and (not isinstance(model_max_length, int) or model_max_length < 1):
            raise TokenizerError(f"model_max_length must be a positive int, got {model_max_length!r}")
        self.backend = _make_backend(text, spec, backend)
        trunc = spec.get("truncation") or {}
        self.model_max_length = model_max_length or trunc.get("max_length")
        self._truncate_left = trunc.get("direction", "Right") == "Left"
        self._padding = _padding_params(spec)

    # -- construction --------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str, model_max_length: int | None = None, backend: str | None = None) -> "Tokenizer":
        return cls(text, model_max_length, backend)

    @classmethod
    def from_file(cls, path, model_max_length: int | None = None, backend: str | None = None) -> "Tokenizer":
        path = Path(path)
        if not path.is_file():
            raise TokenizerError(f"no tokenizer.json at {path}")
        return cls(path.read_text(encoding="utf-8"), model_max_length, backend)

    @classmethod
    def from_folder(cls, folder, backend: str | None = None) -> "Tokenizer":
        """A model folder: tokenizer.json plus the max length from sentence_bert_config.json
        (max_seq_length) or tokenizer_config.json (model_max_length, when it is a real limit)."""
        folder = Path(folder)
        return cls.from_file(folder / "tokenizer.json", model_max_length_of(folder), backend)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    # -- encoding ------------------------------------------------------------------------------------
    def _limits(self, max_length, truncation, padding) -> tuple[int | None, int | str | None]:
        if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)):
            raise TokenizerError(f"max_length must be an int or None, got {max_length!r}")
        limit = max_length if max_length is not None else self.model_max_length
        specials = self.backend.num_special_tokens()
        if limit is not None and limit <= specials and (truncation or padding == "max_length"):
            raise TokenizerError(f"max_length {limit} leaves no room: the tokenizer adds {specials} special "
                                 "tokens; use a larger max_length")
        if padding is True or padding == "longest":
            pad_to = "longest"
        elif padding is False or padding is None:
            pad_to = None
        elif padding == "max_length":
            if limit is None:
                raise TokenizerError("padding='max_length' needs a max length: pass max_length=N "
                                     "(this tokenizer.json and model set none)")
            pad_to = limit
        else:
            raise TokenizerError(f"padding must be True, False, 'longest' or 'max_length', got {padding!r}")
        return (limit if truncation else None), pad_to

    @staticmethod
    def _check_texts(texts) -> list[str]:
        if isinstance(texts, str):
            raise TokenizerError("encode_batch takes a list of strings; for one string use encode(text)")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TokenizerError(f"text {i} is a {type(t).__name__}, not a str; decode bytes first")
        return texts

    def encode_batch(self, texts, max_length: int | None = None, padding=True, truncation: bool = True,
                     add_special_tokens: bool = True) -> BatchEncoding:
        texts = self._check_texts(texts)
        limit, pad_to = self._limits(max_length, truncation, padding)
        if not texts:
            return BatchEncoding()
        b = self.backend
        if hasattr(b, "encode_batch"):
            rows = b.encode_batch(texts, add_special_tokens, limit, self._truncate_left, pad_to, self._padding)
        else:
            rows = []
            for t in texts:
                ids, types = b.encode(t, add_special_tokens, limit, self._truncate_left)
                rows.append(Encoding(ids, [1] * len(ids), types))
            if pad_to is not None:
                width = max(len(r) for r in rows) if pad_to == "longest" else pad_to
                width = self._padding.target(width)
                rows = [pad(r, width, self._padding) for r in rows]
        return BatchEncoding.of(rows)

    def encode(self, text: str, max_length: int | None = None, truncation: bool = True, padding=False,
               add_special_tokens: bool = True) -> Encoding:
        if not isinstance(text, str):
            raise TokenizerError(f"encode takes a str, got {type(text).__name__}; for many texts use encode_batch")
        return self.encode_batch([text], max_length, padding, truncation, add_special_tokens)[0]

    # -- decoding ------------------------------------------------------------------------------------
    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        ids = list(ids)
        for i in ids:
            if not isinstance(i, int) or isinstance(i, bool) or i < 0:
                raise TokenizerError(f"decode takes non-negative int token ids, got {i!r}")
        return self.backend.decode(ids, skip_special_tokens)

    def decode_batch(self, rows, skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(r, skip_special_tokens) for r in rows]


def model_max_length_of(folder: Path) -> int | None:
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        f = folder / name
        if f.is_file():
            value = json.loads(f.read_text(encoding="utf-8")).get(key)
            if isinstance(value, int) and 0 < value < 1_000_000:  # transformers writes 1e30 for "no limit"
                return value
    return None


def _make_backend(text: str, spec: dict, backend: str | None):
    if backend not in (None, "rust", "python"):
        raise TokenizerError(f"backend must be 'rust', 'python' or None (automatic), got {backend!r}")
    if backend == "rust" or (backend is None and not IN_PYODIDE):
        if IN_PYODIDE:
            raise TokenizerError("the Rust tokenizers backend does not exist in the browser; use backend='python'")
        try:
            from .rust_backend import RustBackend
        except ImportError:
            if backend == "rust":
                raise TokenizerError("backend='rust' needs the `tokenizers` package: pip install tokenizers") from None
        else:
            try:
                return RustBackend(text)
            except Exception as e:  # the Rust library's own message says what is wrong with the file
                raise TokenizerError(f"the Rust tokenizers library rejects this tokenizer.json: {e}") from None
    from .pure import PurePythonBackend

    return PurePythonBackend(spec)
