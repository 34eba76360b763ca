"""The Rust library's results on the corpus, computed once per test session and shared by the native
and the browser parity tests."""
import functools

from . import parity
from .corpus import corpus
from .make_tokenizers import all_tokenizer_files


@functools.lru_cache(maxsize=None)
def files() -> dict:
    """name -> (tokenizer.json text, max length)."""
    return {name: (path.read_text(encoding="utf-8"), max_len) for name, (path, max_len) in all_tokenizer_files().items()}


@functools.lru_cache(maxsize=None)
def texts() -> tuple:
    return tuple(corpus())


@functools.lru_cache(maxsize=None)
def rust_outputs(name: str) -> dict:
    from staticml.tokenizer import Tokenizer

    text, max_len = files()[name]
    tok = Tokenizer.from_json(text, model_max_length=max_len, backend="rust")
    return parity.outputs(tok, list(texts()), max_len)
