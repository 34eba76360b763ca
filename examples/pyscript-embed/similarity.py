"""How similar two sentences are: the cosine of their sentence embeddings.

PENDING (issue 6): staticml's embedding API (`pipeline("feature-extraction", ...)`) is not in this build yet,
so `embed` raises `EmbeddingsPending` and the page says so. Wiring it is a change to `embed` only:

    from staticml import pipeline
    extractor = await pipeline("feature-extraction", "sentence-transformers/all-MiniLM-L6-v2")
    return await extractor(texts)   # normalized embeddings, one list of floats per text

`cosine` and `similarity` stay as they are. Pure stdlib: this file runs in Pyodide and in CPython.
"""
import math


class EmbeddingsPending(RuntimeError):
    """The embedding model is not wired into this build yet (issue 6)."""


async def embed(texts: list[str]) -> list[list[float]]:
    raise EmbeddingsPending("sentence embeddings are not in this staticml build yet (issue 6: "
                            "pipeline(\"feature-extraction\")); the GPU self-test above shows the runtime works")


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
