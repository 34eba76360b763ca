"""What a Hugging Face model folder holds, checked before any conversion work starts.

Reads config.json (architecture), the weights (`model.safetensors`, or the shards listed in
`model.safetensors.index.json`), and the files the browser needs besides the weights: the tokenizer
and, for sentence-transformers models, the module list and pooling config.
"""
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import safetensors_reader
from .errors import ConvertError

# Architectures staticml has (or is getting) model code for; a checkpoint of anything else would
# convert fine but could never run, so it is refused up front.
SUPPORTED_ARCHITECTURES = ("BertModel",)

# Files shipped next to the shards when present: (path in the HF folder, required?)
SHIPPED_FILES = (("tokenizer.json", True), ("tokenizer_config.json", False), ("special_tokens_map.json", False),
                 ("modules.json", False), ("1_Pooling/config.json", False), ("sentence_bert_config.json", False))


@dataclass
class HFModel:
    folder: Path
    config: dict
    architecture: str
    weight_files: list[Path]                                  # sorted
    tensors: dict[str, safetensors_reader.TensorInfo]        # every tensor of every weight file
    shipped: dict[str, Path]                                  # relative name -> path


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ConvertError(f"{path}: no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConvertError(f"{path}: not valid JSON ({e})") from None


def read_folder(folder: Path) -> HFModel:
    folder = Path(folder)
    if not folder.is_dir():
        raise ConvertError(f"{folder}: no such folder (pass a Hugging Face model folder with config.json and "
                           "*.safetensors)")
    if not (folder / "config.json").is_file():
        raise ConvertError(f"{folder}: config.json is missing; this is not a Hugging Face model folder")
    config = _read_json(folder / "config.json")
    archs = config.get("architectures") or []
    supported = [a for a in archs if a in SUPPORTED_ARCHITECTURES]
    if not supported:
        raise ConvertError(f"{folder}: architecture {archs or config.get('model_type', '?')} is not supported; "
                           f"staticml converts {', '.join(SUPPORTED_ARCHITECTURES)}")

    weight_files = _weight_files(folder)
    tensors: dict[str, safetensors_reader.TensorInfo] = {}
    for path in weight_files:
        for name, info in safetensors_reader.read_header(path).items():
            if name in tensors:
                raise ConvertError(f"tensor {name!r} is stored twice: in {tensors[name].file.name} and {path.name}")
            tensors[name] = info
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = _read_json(index).get("weight_map", {})
        missing = sorted(n for n in weight_map if n not in tensors or tensors[n].file.name != weight_map[n])
        if missing:
            raise ConvertError(f"{index}: {len(missing)} tensors listed there are not in the file it names "
                               f"(first: {missing[0]!r} -> {weight_map[missing[0]]}); the shards are inconsistent, "
                               "download the model again")

    shipped = {}
    for rel, required in SHIPPED_FILES:
        if (folder / rel).is_file():
            shipped[rel] = folder / rel
        elif required:
            raise ConvertError(f"{folder / rel}: no such file; the browser needs the tokenizer "
                               "(save it with tokenizer.save_pretrained(folder))")
    return HFModel(folder, config, supported[0], weight_files, tensors, shipped)


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = _read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ConvertError(f"{index}: has no weight_map; download the model again")
        files = sorted({folder / f for f in weight_map.values()})
        for f in files:
            if not f.is_file():
                raise ConvertError(f"{f}: no such file, but {index.name} lists it; the download is incomplete, "
                                   "fetch the missing shard")
        return files
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    if list(folder.glob("*.bin")) or list(folder.glob("*.pt")):
        raise ConvertError(f"{folder}: only PyTorch pickle weights (*.bin) found; staticml reads safetensors only. "
                           "Re-save with model.save_pretrained(folder, safe_serialization=True)")
    raise ConvertError(f"{folder}: no model.safetensors or model.safetensors.index.json")


def natural_key(name: str):
    """'layer.10' sorts after 'layer.9', so shards follow the network's order."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]
