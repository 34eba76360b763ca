"""A search index in the converted-model format, so the browser loads, verifies and caches it exactly
like a model: one f32 tensor `corpus.embeddings` [n_docs, dim] (L2-normalised rows) and the shipped
file `docs.json` ([{id, text}] in row order)."""
import hashlib
import json
from pathlib import Path

import numpy as np

from .convert import FORMAT_VERSION
from .output import atomic_folder
from .shards import ALIGN, ShardWriter

ARCHITECTURE = "SearchIndex"


def write_search_index(out: Path, index_id: str, embeddings, docs: list[dict], source: dict,
                       shard_bytes: int = 16 * 2**20) -> dict:
    """Write out/manifest.json + shards; `source` records what the index was made from (model, corpus hash)."""
    emb = np.ascontiguousarray(embeddings, dtype="<f4")          # [n_docs, dim]
    if emb.ndim != 2 or emb.shape[0] != len(docs):
        raise ValueError(f"{emb.shape[0]} embeddings for {len(docs)} documents")
    docs_bytes = json.dumps(docs, ensure_ascii=False, separators=(",", ":")).encode()
    docs_sha = hashlib.sha256(docs_bytes).hexdigest()
    with atomic_folder(out) as tmp:
        writer = ShardWriter(tmp, shard_bytes)
        spans = writer.add(emb.tobytes())
        shards = writer.close()
        docs_name = f"docs.{docs_sha[:12]}.json"
        (tmp / docs_name).write_bytes(docs_bytes)
        manifest = {
            "format_version": FORMAT_VERSION, "model_id": index_id, "architecture": ARCHITECTURE,
            "config": {"n_docs": len(docs), "dim": int(emb.shape[1])}, "dtype": "f32", "alignment": ALIGN,
            "shard_bytes_max": shard_bytes, "source": source, "sentence_transformers": None, "dropped": [],
            "files": {"docs.json": {"file": docs_name, "nbytes": len(docs_bytes), "sha256": docs_sha}},
            "tensors": [{"name": "corpus.embeddings", "shape": list(emb.shape), "dtype": "f32",
                         "source_dtype": "F32", "spans": spans, "shard": spans[0]["shard"],
                         "byte_offset": spans[0]["byte_offset"], "nbytes": sum(s["nbytes"] for s in spans)}],
            "shards": shards, "total_bytes": sum(s["nbytes"] for s in shards),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest
