"""all-MiniLM-L6-v2 natively (numpy backend: each op's reference) against sentence-transformers' golden
embeddings (tests/golden/make_minilm_golden.py), plus the pipeline's and the search's errors."""
import asyncio
import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
sys.path.insert(0, str(GOLDEN))
from make_minilm_golden import OUT, minilm_dir, sentences_sha256  # noqa: E402
from sentences import SENTENCES  # noqa: E402

from staticml.pipelines import pipeline  # noqa: E402

# The bars of the semantic-search issue: cosine to sentence-transformers (PyTorch CPU) per dtype.
MIN_COSINE = {"f32": 0.9999, "f16": 0.999, "q8": 0.995}


@pytest.fixture(scope="module")
def golden() -> np.ndarray:
    data = np.load(OUT)
    assert str(data["sentences_sha256"]) == sentences_sha256(SENTENCES), "stale golden file: rerun make_minilm_golden.py"
    return data["embeddings"]                               # [34, 384]


def run(coro):
    return asyncio.run(coro)


def test_golden_set_has_what_the_issue_asks_for():
    from staticml.tokenizer import Tokenizer

    tok = Tokenizer.from_file(minilm_dir() / "tokenizer.json")
    lengths = [len(tok.encode(s, truncation=False).ids) for s in SENTENCES]
    assert len(SENTENCES) >= 32
    assert any(230 <= n <= 256 for n in lengths)            # one of about 250 tokens
    assert max(lengths) > 256                               # one that must be truncated


@pytest.mark.parametrize("dtype", ["f32", "f16", "q8"])
def test_embeddings_match_sentence_transformers(golden, dtype):
    extractor = run(pipeline("feature-extraction", minilm_dir(), dtype=dtype))
    got = np.asarray(run(extractor.encode(SENTENCES, batch_size=32)))
    assert got.shape == golden.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosine = (got * golden).sum(axis=1)
    assert cosine.min() >= MIN_COSINE[dtype], (dtype, SENTENCES[int(cosine.argmin())][:60], cosine.min())


def test_batches_and_single_calls_agree():
    extractor = run(pipeline("feature-extraction", minilm_dir()))
    texts = SENTENCES[:5]
    together = np.asarray(run(extractor.encode(texts, batch_size=4)))
    alone = np.asarray([run(extractor.encode([t]))[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-6)   # padding never leaks into a row
    raw = np.asarray(run(extractor.encode(texts[:1], normalize_embeddings=False)))
    assert abs(np.linalg.norm(raw) - 1) > 1e-3               # normalisation is a real step, not a no-op
    # encode_f32 (what embed() sends to the page): the same rows, in order, as one little-endian f32 block
    block, dim = run(extractor.encode_f32(texts, batch_size=4))
    assert dim == together.shape[1] and np.frombuffer(block, "<f4").reshape(len(texts), dim).tolist() == together.tolist()
    assert run(extractor.encode_f32([])) == (b"", 0)


def test_bad_input_says_what_to_do():
    extractor = run(pipeline("feature-extraction", minilm_dir()))
    assert run(extractor.encode([])) == []
    with pytest.raises(TypeError, match="takes a list of strings"):
        run(extractor.encode("one string"))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        run(extractor.encode(["x"], batch_size=0))
    with pytest.raises(ValueError, match="unknown task 'summarization'"):
        run(pipeline("summarization", minilm_dir()))
    with pytest.raises(FileNotFoundError, match="no config.json"):
        run(pipeline("feature-extraction", GOLDEN))


def test_search_ranks_by_cosine_and_refuses_bad_queries():
    from staticml.runtime.numpy_backend import NumpyBackend
    from staticml.search import QueryError, SemanticSearch

    backend = NumpyBackend()
    extractor = run(pipeline("feature-extraction", minilm_dir(), backend=backend))
    docs = [{"id": str(i), "text": t} for i, t in enumerate(SENTENCES[:12])]
    corpus = np.asarray(run(extractor.encode([d["text"] for d in docs])), np.float32)   # [12, 384]
    index = SemanticSearch(extractor, docs, backend.weight("corpus", corpus, "f32"))
    query = "Someone plays the drums."
    hits = run(index.search(query, k=3))
    want = corpus @ np.asarray(run(extractor.encode([query]))[0])
    assert [h["id"] for h in hits] == [str(i) for i in np.argsort(-want)[:3]]
    assert hits[0]["score"] == pytest.approx(float(want.max()), abs=1e-5)
    with pytest.raises(QueryError, match="the query is empty"):
        run(index.search("   ", 3))
    with pytest.raises(QueryError, match=r"tokens long and the model reads at most 256"):
        run(index.search(SENTENCES[-1], 3))


def test_golden_file_is_what_its_script_makes(golden):
    from make_minilm_golden import reference_embeddings

    np.testing.assert_allclose(reference_embeddings(SENTENCES), golden, atol=1e-5)


def _brute_force_cost(lengths, batch_size, batch_cost, padded=lambda rows, n: rows * n):
    """The cheapest split of sorted rows into neighbouring batches, by trying every split."""
    from itertools import product

    n, best = len(lengths), None
    for cuts in product([False, True], repeat=n - 1):
        starts = [0] + [i + 1 for i, c in enumerate(cuts) if c]
        spans = list(zip(starts, starts[1:] + [n]))
        if all(hi - lo <= batch_size for lo, hi in spans):
            cost = sum(batch_cost + padded(hi - lo, lengths[lo]) for lo, hi in spans)
            best = cost if best is None else min(best, cost)
    return best


def test_bucketed_batches_are_the_cheapest_cover_with_a_round_trip_per_batch():
    """Bucketed shapes on a GPU: rows are cut where padding them together costs more padded tokens than
    one more run and its round trip (GPU_BATCH_COST_TOKENS), with [B, T] rounded up as the plans are. The
    numpy backend (no round trip) prices a run like the CPU does."""
    from staticml.pipelines.feature_extraction import (BATCH_COST_TOKENS, GPU_BATCH_COST_TOKENS, FeatureExtraction,
                                                       bucket_batch, bucket_length)
    from staticml.runtime.numpy_backend import NumpyBackend
    from staticml.runtime.webgpu_backend import WebGPUBackend

    class Bucketed(FeatureExtraction):   # only what _batches reads
        def __init__(self):
            self.exact, self.max_length, self.batch_cost = False, 256, GPU_BATCH_COST_TOKENS

    assert WebGPUBackend.round_trip_per_run and not getattr(NumpyBackend, "round_trip_per_run", False)
    numpy_minilm = run(pipeline("feature-extraction", minilm_dir()))
    assert numpy_minilm.batch_cost == BATCH_COST_TOKENS and not numpy_minilm.exact

    f, rng = Bucketed(), np.random.default_rng(11)
    for _ in range(150):
        n, batch_size = int(rng.integers(1, 10)), int(rng.integers(1, 9))
        ids = [[0] * int(k) for k in rng.integers(1, 300, n)]
        batches = list(f._batches(ids, batch_size))
        assert sorted(i for b in batches for i in b) == list(range(n))   # every row once
        assert all(0 < len(b) <= batch_size for b in batches)
        order = [i for b in batches for i in b]
        assert [len(ids[i]) for i in order] == sorted((len(r) for r in ids), reverse=True)   # longest first
        lengths = [bucket_length(len(ids[i]), 256) for i in order]
        padded = lambda rows, t: bucket_batch(rows) * t   # noqa: E731
        cost = sum(GPU_BATCH_COST_TOKENS + padded(len(b), bucket_length(len(ids[b[0]]), 256)) for b in batches)
        assert cost == _brute_force_cost(lengths, batch_size, GPU_BATCH_COST_TOKENS, padded)
    # the bench's batch of 8 (3 rows of 18-20 tokens, 5 of 13-16): one [8, 32] run, as many padded tokens as
    # [4, 32] + [8, 16] and one round trip fewer; a ~250-token passage beside them still runs alone
    b8 = [[0] * k for k in (13, 14, 15, 16, 16, 18, 19, 20)]
    assert [len(b) for b in f._batches(b8, 32)] == [8]
    assert [len(b) for b in f._batches(b8 + [[0] * 248], 32)] == [1, 8]


def test_exact_cuts_are_the_cheapest_cover():
    from staticml.pipelines.feature_extraction import exact_cuts

    rng = np.random.default_rng(7)
    for _ in range(200):
        n, batch_size, batch_cost = int(rng.integers(1, 10)), int(rng.integers(1, 6)), int(rng.integers(0, 30))
        lengths = sorted(rng.integers(1, 60, n).tolist(), reverse=True)
        spans = exact_cuts(lengths, batch_size, batch_cost)
        assert [i for lo, hi in spans for i in range(lo, hi)] == list(range(n))   # every row once, in order
        assert all(0 < hi - lo <= batch_size for lo, hi in spans)
        cost = sum(batch_cost + (hi - lo) * lengths[lo] for lo, hi in spans)
        assert cost == _brute_force_cost(lengths, batch_size, batch_cost), (lengths, batch_size, batch_cost, spans)
    # the bench's batch of 32 (staticml.bench_inputs.BATCH_32, all-MiniLM-L6-v2's token counts): 648 tokens
    # in 4 runs instead of 32 x 24 = 768 in one; equal lengths stay one batch
    b32 = sorted([18, 17, 17, 20, 20, 22, 22, 24] * 4, reverse=True)
    assert exact_cuts(b32, 32) == [(0, 4), (4, 12), (12, 20), (20, 32)]
    assert exact_cuts([16] * 32, 32) == [(0, 32)]
    assert exact_cuts([], 32) == []


def test_exact_shapes_batching_changes_no_embedding():
    """With exact shapes (the CPU backend's) a batch of mixed lengths is split where padding costs more
    than a run; the embeddings equal one-sentence calls."""
    extractor = run(pipeline("feature-extraction", minilm_dir()))
    extractor.exact = True
    texts = SENTENCES[:12]
    together = np.asarray(run(extractor.encode(texts, batch_size=32)))
    assert extractor.last_timings["batches"] > 1
    alone = np.asarray([run(extractor.encode([t]))[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-6)


def test_precompiled_query_lengths_need_no_plan_and_longer_ones_do():
    """precompile_queries with exact shapes: one plan per token count up to max_tokens (at most half the kept
    programs), made once; an encode of such a length then compiles nothing (last_timings says so) and gives
    what a fresh pipeline gives; a longer text compiles its own. Bucketed shapes: nothing to do."""
    from staticml.pipelines.feature_extraction import EXACT_PROGRAMS

    extractor = run(pipeline("feature-extraction", minilm_dir()))
    assert run(extractor.precompile_queries()) == 0 and extractor.stats["plans_compiled"] == 0   # bucketed
    extractor.exact = True
    assert run(extractor.precompile_queries(8)) == 8 and extractor.stats["plans_compiled"] == 8
    assert run(extractor.precompile_queries(8)) == 0                          # made once
    fresh = run(pipeline("feature-extraction", minilm_dir()))
    fresh.exact = True
    for words in range(1, 7):                                                 # 3 .. 8 tokens
        text = " ".join(["word"] * words)
        got = run(extractor.encode([text]))
        assert extractor.last_timings["plans_compiled"] == 0, words
        np.testing.assert_allclose(got, run(fresh.encode([text])), atol=1e-6)
    run(extractor.encode([" ".join(["word"] * 7)]))                           # 9 tokens: not precompiled
    assert extractor.last_timings["plans_compiled"] == 1
    assert run(extractor.precompile_queries(1000)) == EXACT_PROGRAMS // 2 - 9  # capped; 1..9 exist
