"""Load a model for a pipeline: config, tokenizer, pooling, max length and weights on a backend.

Natively `model` is a folder: a Hugging Face / sentence-transformers folder (float safetensors,
quantized on the way in) or a folder written by `build.py convert` (manifest.json + shards).
"""
import json
from dataclasses import dataclass
from pathlib import Path

from ..models.weights import ArraySource, ModelWeights


@dataclass
class LoadedModel:
    model_id: str
    config: dict
    tokenizer: object
    weights: ModelWeights
    backend: object
    dtype: str
    pooling: str = "mean"
    max_length: int = 512


def pooling_mode(pooling_config: dict | None) -> str:
    """sentence-transformers' 1_Pooling/config.json -> 'mean' | 'cls' (the modes staticml runs)."""
    if not pooling_config:
        return "mean"
    if pooling_config.get("pooling_mode_mean_tokens"):
        return "mean"
    if pooling_config.get("pooling_mode_cls_token"):
        return "cls"
    modes = [k for k, v in pooling_config.items() if k.startswith("pooling_mode") and v]
    raise ValueError(f"pooling {modes} is not supported; staticml runs mean and cls pooling")


def max_length_of(config: dict, st_config: dict | None, tokenizer_config: dict | None) -> int:
    """sentence-transformers' max_seq_length wins (256 for all-MiniLM-L6-v2), then the tokenizer's
    model_max_length, capped by the model's position table."""
    limit = config.get("max_position_embeddings", 512)
    for source, key in ((st_config, "max_seq_length"), (tokenizer_config, "model_max_length")):
        if source and isinstance(source.get(key), int) and source[key] > 0:
            return min(limit, source[key])
    return limit


def _json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


async def load_model(model, backend=None, dtype: str = "f32") -> LoadedModel:
    from ..tokenizer import Tokenizer

    folder = Path(model)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no config.json; give a Hugging Face model folder or a converted model")
    if backend is None:
        from ..runtime.numpy_backend import NumpyBackend

        backend = NumpyBackend()
    config = _json(folder / "config.json")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    source = ArraySource.from_safetensors(folder / "model.safetensors")
    return LoadedModel(folder.name, config, tokenizer, ModelWeights(backend, source, dtype), backend, dtype,
                       pooling_mode(_json(folder / "1_Pooling" / "config.json")),
                       max_length_of(config, _json(folder / "sentence_bert_config.json"),
                                     _json(folder / "tokenizer_config.json")))
