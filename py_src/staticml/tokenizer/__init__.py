"""Tokenizers: one API (`Tokenizer`) over the Rust `tokenizers` library natively and a pure-Python
implementation of the tokenizer.json format in the browser (see README.md for why and the parity tests)."""
from .api import Tokenizer, model_max_length_of
from .encoding import BatchEncoding, Encoding
from .errors import TokenizerError

__all__ = ["Tokenizer", "Encoding", "BatchEncoding", "TokenizerError", "model_max_length_of"]
