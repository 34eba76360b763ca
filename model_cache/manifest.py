"""Read back and verify a converted model folder (used by `build.py build --model` and the tests)."""
import hashlib
import json
from pathlib import Path

from .convert import FORMAT_VERSION
from .errors import ConvertError


def load_manifest(folder: Path) -> dict:
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        hint = " (it looks like a Hugging Face folder: run `build.py convert` on it first)" \
            if (Path(folder) / "config.json").is_file() else ""
        raise ConvertError(f"{folder}: no manifest.json, so it is not a converted model{hint}")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConvertError(f"{path}: not valid JSON ({e}); convert the model again") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ConvertError(f"{path}: format_version {manifest.get('format_version')!r}, this staticml reads "
                           f"{FORMAT_VERSION}; convert the model again with this version")
    return manifest


def verify(folder: Path, manifest: dict) -> None:
    """Every shard and shipped file exists with the size and sha256 the manifest gives."""
    entries = [(s["file"], s["nbytes"], s["sha256"]) for s in manifest["shards"]]
    entries += [(f["file"], f["nbytes"], f["sha256"]) for f in manifest["files"].values()]
    for name, nbytes, sha in entries:
        path = Path(folder) / name
        if not path.is_file():
            raise ConvertError(f"{path}: missing, but manifest.json lists it; convert the model again")
        data = path.read_bytes()
        if len(data) != nbytes or hashlib.sha256(data).hexdigest() != sha:
            raise ConvertError(f"{path}: its bytes do not match manifest.json (size {len(data)} vs {nbytes}, or "
                               "sha256 differs); the folder was modified or damaged, convert the model again")


def tensor_bytes(folder: Path, manifest: dict, name: str) -> bytes:
    """A tensor's stored bytes (padding included), reassembled from its spans."""
    entry = next((t for t in manifest["tensors"] if t["name"] == name), None)
    if entry is None:
        raise KeyError(name)
    out = bytearray()
    for span in entry["spans"]:
        with open(Path(folder) / manifest["shards"][span["shard"]]["file"], "rb") as f:
            f.seek(span["byte_offset"])
            out += f.read(span["nbytes"])
    return bytes(out)
