"""Load a model for a pipeline: config, tokenizer, pooling, max length and weights on a backend.

Natively `model` is a Hugging Face / sentence-transformers folder (float safetensors, quantized on
the way in). In the browser it is the id of a model the site ships (`build.py build --model`): the
model loader moves its shards into GPU buffers and the tokenizer comes from its shipped files.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from ..env import IN_PYODIDE
from ..models.weights import ArraySource, LoadedTensorSource, ModelWeights


@dataclass
class PipelineModel:
    model_id: str
    config: dict
    tokenizer: object
    weights: ModelWeights
    backend: object
    dtype: str
    pooling: str = "mean"
    max_length: int = 512
    gpu_tensors: object = None   # the staticml.weights.LoadedModel owning the GPU buffers / wasm blocks (browser)


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


async def load_model(model, backend=None, dtype: str = "f32") -> PipelineModel:
    if IN_PYODIDE:
        return await load_shipped_model(str(model), backend)
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
    return PipelineModel(folder.name, config, tokenizer, ModelWeights(backend, source, dtype), backend, dtype,
                       pooling_mode(_json(folder / "1_Pooling" / "config.json")),
                       max_length_of(config, _json(folder / "sentence_bert_config.json"),
                                     _json(folder / "tokenizer_config.json")))


async def load_shipped_model(model_id: str, backend) -> PipelineModel:
    """A model the site ships, by id: shards -> GPU buffers or the CPU kernels' memory (never through
    Python), tokenizer from its files."""
    import staticml_models as loader

    from .. import weights as gpu_weights
    from ..tokenizer import Tokenizer

    if backend is None or backend.name not in ("webgpu", "wasm"):
        raise ValueError("models shipped with the site load onto the WebGPU or the CPU (wasm) backend; "
                         f"got {getattr(backend, 'name', backend)!r}")
    loaded = await gpu_weights.load(gpu_weights.memory_of(backend), model_id)
    manifest = loaded.manifest
    st = manifest.get("sentence_transformers") or {}
    files = manifest.get("files", {})
    tok_config = json.loads(await loader.fileText(model_id, "tokenizer_config.json")) \
        if "tokenizer_config.json" in files else None
    config = manifest["config"]
    max_length = max_length_of(config, st, tok_config)
    tokenizer = Tokenizer.from_json(await loader.fileText(model_id, "tokenizer.json"), model_max_length=max_length)
    weights = ModelWeights(backend, LoadedTensorSource(loaded.tensors), manifest.get("dtype", "f32"))
    return PipelineModel(model_id, config, tokenizer, weights, backend, manifest.get("dtype", "f32"),
                         pooling_mode(st.get("pooling")), max_length, loaded)
