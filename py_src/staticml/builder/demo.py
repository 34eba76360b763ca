"""The default site's content: all-MiniLM-L6-v2 converted to each requested dtype, and a semantic-search
index over the standard library's documentation (demo_corpus.py), embedded here, natively, by the
same staticml model code the browser runs (numpy backend).

Both are cached under build/cache/, keyed by what they are made from (the converter's and the model
code's sources, the corpus, the dtype), so a rebuild converts and embeds only when something changed.
"""
import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path

from .errors import BuildError
from .models import model_cache

REPO = Path(__file__).resolve().parents[3]
CACHE = REPO / "build" / "cache"
INDEX_ID = "stdlib-docs"
DEFAULT_DTYPES = ("f32", "q8")


def _sources_hash(*folders: Path) -> str:
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()[:10]


def _ready(folder: Path) -> bool:
    mc = model_cache()
    try:
        mc.verify(folder, mc.load_manifest(folder))
        return True
    except mc.ConvertError:
        return False


def demo_model(dtype: str, log=print) -> Path:
    mc = model_cache()
    model_id = mc.model_id_for(mc.DEFAULT_MODEL_NAME, dtype)
    out = CACHE / f"{model_id}-{_sources_hash(REPO / 'model_cache')}"
    if not _ready(out):
        log(f"converting {mc.DEFAULT_MODEL_NAME} to {dtype} (once; cached in {out.relative_to(REPO)})")
        try:
            mc.convert(mc.ConvertOptions(folder=mc.default_model_folder(), out=out, dtype=dtype, model_id=model_id))
        except mc.ConvertError as e:
            raise BuildError(str(e)) from None
    return out


def demo_index(log=print) -> Path:
    from .demo_corpus import stdlib_documents

    mc = model_cache()
    docs = stdlib_documents()
    corpus_hash = hashlib.sha256(json.dumps(docs).encode()).hexdigest()[:10]
    pkg = REPO / "py_src" / "staticml"   # what computes the embeddings (not the builder or the browser glue)
    code_hash = _sources_hash(REPO / "model_cache", *(pkg / d for d in ("models", "ops", "runtime", "pipelines",
                                                                        "tokenizer")))
    out = CACHE / f"{INDEX_ID}-{corpus_hash}-{code_hash}"
    if not _ready(out):
        from model_cache.search_index import write_search_index

        folder = mc.default_model_folder()
        log(f"embedding {len(docs)} documents with {mc.DEFAULT_MODEL_NAME} (f32, numpy backend; once, cached)")
        embeddings = asyncio.run(_embed([d["text"] for d in docs], folder, log))
        write_search_index(out, INDEX_ID, embeddings, docs,
                           {"model": mc.DEFAULT_MODEL_NAME, "corpus": f"Python {sys.version.split()[0]} docstrings",
                            "corpus_sha256_10": corpus_hash})
    return out


async def _embed(texts: list[str], folder: Path, log):
    import numpy as np

    from ..pipelines import pipeline

    extractor = await pipeline("feature-extraction", folder)
    out, t0, step = [], time.perf_counter(), 256
    for start in range(0, len(texts), step):
        out += await extractor.encode(texts[start:start + step], batch_size=32)
        done = min(start + step, len(texts))
        log(f"  embedded {done}/{len(texts)} documents ({time.perf_counter() - t0:.0f} s)")
    return np.asarray(out, dtype=np.float32)       # [n_docs, 384], L2-normalised rows


def demo_folders(dtypes=DEFAULT_DTYPES, log=print) -> list[Path]:
    return [demo_model(d, log) for d in dtypes] + [demo_index(log)]
