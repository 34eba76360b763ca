"""A pure-Python implementation of the tokenizer.json format (stdlib only): the browser backend.

It runs in Pyodide and in native CPython, so its parity with the Rust `tokenizers` library is tested
natively over the whole corpus and again inside headless Chromium.
"""
from .pipeline import PurePythonBackend

__all__ = ["PurePythonBackend"]
