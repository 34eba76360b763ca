"""How similar two sentences are: the cosine of their all-MiniLM-L6-v2 sentence embeddings, computed
with staticml's feature-extraction pipeline on WebGPU in this worker.

The model is the one `build.py build` ships for its demo (the default `--dtypes f32,q8` gives the id below);
its weights go from the site (or IndexedDB, offline) straight into GPU buffers.
"""
import math

MODEL = "all-minilm-l6-v2-f32"
_extractor = None


async def embed(texts: list[str]) -> list[list[float]]:
    """L2-normalised embeddings, one list of floats per text (the pipeline is made once per worker)."""
    global _extractor
    if _extractor is None:
        from staticml.pipelines import pipeline
        from staticml.runtime.webgpu_backend import WebGPUBackend

        _extractor = await pipeline("feature-extraction", MODEL, backend=await WebGPUBackend.request())
    return await _extractor.encode(texts)


def cosine(u: list[float], v: list[float]) -> float:
    if len(u) != len(v) or not u:
        raise ValueError(f"cosine needs two non-empty vectors of one length, got {len(u)} and {len(v)}")
    nu, nv = math.sqrt(sum(x * x for x in u)), math.sqrt(sum(x * x for x in v))
    if nu == 0 or nv == 0:
        raise ValueError("cosine of a zero vector is undefined")
    return sum(x * y for x, y in zip(u, v)) / (nu * nv)


async def similarity(a: str, b: str) -> float:
    """Cosine similarity in [-1, 1] of the embeddings of sentences `a` and `b`."""
    for name, text in (("first", a), ("second", b)):
        if not text.strip():
            raise ValueError(f"the {name} sentence is empty: type a sentence to compare")
    ea, eb = await embed([a, b])
    return cosine(ea, eb)
