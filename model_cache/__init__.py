"""Native-only model converter: Hugging Face folder -> manifest.json + content-hashed shards.

Imports numpy (and nothing of staticml's browser runtime); imported by py_src/staticml/builder
(`build.py convert`, `build.py build --model`) and by the tests. See README.md.
"""
from .convert import (DEFAULT_MODEL_NAME, DTYPES, ConvertOptions, convert, default_model_folder, model_id_for,
                      print_report)
from .errors import ConvertError
from .manifest import load_manifest, tensor_bytes, verify

__all__ = ["DEFAULT_MODEL_NAME", "DTYPES", "ConvertError", "ConvertOptions", "convert", "default_model_folder",
           "load_manifest", "model_id_for", "print_report", "tensor_bytes", "verify"]
