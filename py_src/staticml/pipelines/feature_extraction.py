"""Sentence embeddings, sentence-transformers style: tokenize, run the encoder per (batch, length)
bucket, pool as the model's pooling config says, L2-normalise."""
import asyncio
import time

from ..models.bert import BertConfig, BertEncoder

LENGTH_STEP = 16  # padded lengths are multiples of this: few plans, little wasted work
EXACT_PROGRAMS = 48   # programs kept when shapes are exact (CPU): the least recently used go first
# What one more batch costs with exact shapes, in padded tokens: its weights read from memory once more, the
# per-op thread hand-offs and the Python around one run. MiniLM-L6 on 2 threads (shaders/README.md): one
# 8-token sentence runs in 3.0 ms, 8 x 16 tokens in 31.7 ms, so a token costs ~0.24 ms and a batch ~1.1 ms
# on top, plus ~1 ms of run() from Python: ~8 tokens.
BATCH_COST_TOKENS = 8
# The same on a GPU (backend.round_trip_per_run): one more batch is one more submit and read back, a round trip that on
# a real GPU costs milliseconds (H100/H200 in Chromium: a 16-token query 5-7 ms, 32 x 32 tokens 8-9 ms, so the
# round trip is worth ~1,500 tokens of compute there); 512 keeps slower GPUs from padding much for it. E.g. the
# bench's batch of 8 (3 rows of 18-20 tokens, 5 of 13-16) is one [8, 32] run, not [4, 32] + [8, 16]: the same
# padded tokens, one round trip fewer (bench/results/ort-web-2026-11-21-device.json: 12.5 ms vs 9.4 for 32).
GPU_BATCH_COST_TOKENS = 512
# precompile_queries' default: a search box's query is a few words, [CLS] and [SEP] included
QUERY_TOKENS = 24


def bucket_length(n: int, limit: int) -> int:
    return min(limit, max(LENGTH_STEP, -(-n // LENGTH_STEP) * LENGTH_STEP))


def bucket_batch(n: int) -> int:
    b = 1
    while b < n:
        b *= 2
    return b


class FeatureExtraction:
    def __init__(self, model, backend):
        self.model, self.backend = model, backend
        self.max_length = model.max_length
        config = BertConfig.from_hf(model.config)
        self.encoder = BertEncoder(config, model.weights, pooling=model.pooling, normalize=False)
        self.normalized = BertEncoder(config, model.weights, pooling=model.pooling, normalize=True)
        self._programs: dict = {}
        # A GPU plan costs pipelines and bind groups, so shapes are bucketed; a CPU plan is a list of calls
        # made in microseconds, so the CPU runs exact shapes and pads nothing (backend.exact_shapes).
        self.exact = bool(getattr(backend, "exact_shapes", False))
        # what one more batch costs, in padded tokens: a GPU's round trip, or a CPU's per-run overhead (numpy too)
        self.batch_cost = GPU_BATCH_COST_TOKENS if getattr(backend, "round_trip_per_run", False) else BATCH_COST_TOKENS
        self.stats = {"plans_compiled": 0, "batches_run": 0}
        self.last_timings: dict = {}   # where the last encode() spent its time (ms), plans it compiled: info()

    @classmethod
    async def create(cls, model, backend=None, dtype: str = "f32"):
        from .loading import load_model

        if not hasattr(model, "weights"):
            model = await load_model(model, backend=backend, dtype=dtype)
        return cls(model, model.backend)

    async def _program(self, encoder, B: int, T: int):
        key = (id(encoder), B, T)
        if key not in self._programs:
            if self.exact and len(self._programs) >= EXACT_PROGRAMS:
                self._programs.pop(next(iter(self._programs))).release()
            self._programs[key] = await self.backend.compile(encoder.plan(B, T, cache=not self.exact))
            self.stats["plans_compiled"] += 1
        elif self.exact:
            self._programs[key] = self._programs.pop(key)   # most recently used last
        return self._programs[key]

    async def precompile_queries(self, max_tokens: int = QUERY_TOKENS) -> int:
        """Compile the plans of one text of each token count up to max_tokens ([CLS] and [SEP] included), one
        at a time, giving other tasks their turn in between, so that a search box's queries do not wait for a
        plan. With exact shapes (the CPU) every new length costs a plan record and compile, ~6-10 ms in Pyodide
        where a query runs in ~7; bucketed shapes (WebGPU) serve all these lengths with the one or two plans the
        first queries make, so there this does nothing. At most half the kept programs (EXACT_PROGRAMS) go to
        it. Returns how many plans it compiled."""
        if not self.exact:
            return 0
        made = 0
        for T in range(1, min(max_tokens, self.max_length, EXACT_PROGRAMS // 2) + 1):
            if (id(self.normalized), 1, T) not in self._programs:
                await self._program(self.normalized, 1, T)
                made += 1
                await asyncio.sleep(0)   # a query that arrives meanwhile runs before the next compile
        return made

    async def encode(self, sentences, batch_size: int = 32, normalize_embeddings: bool = True) -> list:
        """One embedding (a list of floats) per sentence, in order. Longer texts are truncated to
        the model's max length, as sentence-transformers does."""
        buf, C = await self.encode_f32(sentences, batch_size, normalize_embeddings)
        flat = _array("f", buf)
        return [flat[i * C:(i + 1) * C].tolist() for i in range(len(flat) // C)] if C else []

    async def encode_f32(self, sentences, batch_size: int = 32, normalize_embeddings: bool = True) -> tuple:
        """(bytes, C): the embeddings as one little-endian f32 buffer [len(sentences), C], row i for sentence i;
        what crosses to JavaScript as one block instead of len(sentences) * C Python floats."""
        if isinstance(sentences, str):
            raise TypeError("encode() takes a list of strings; wrap a single sentence in a list")
        if not sentences:
            return b"", 0
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        encoder = self.normalized if normalize_embeddings else self.encoder
        t0 = time.perf_counter()
        tokens = self.model.tokenizer.encode_batch(list(sentences), max_length=self.max_length, padding=False,
                                                   truncation=True)
        t1 = time.perf_counter()
        out, C = None, 0
        batches, compiled = 0, self.stats["plans_compiled"]
        for rows in self._batches(tokens.ids, batch_size):
            block = await self._encode_batch(encoder, [tokens.ids[i] for i in rows],
                                             [tokens.token_type_ids[i] for i in rows])   # [len(rows), C] f32
            if out is None:
                C = len(block) // (4 * len(rows))
                out = bytearray(4 * C * len(sentences))
            batches += 1
            for j, i in enumerate(rows):
                out[4 * C * i:4 * C * (i + 1)] = block[4 * C * j:4 * C * (j + 1)]
        self.last_timings = {"tokenize_ms": round((t1 - t0) * 1000, 2),
                             "model_ms": round((time.perf_counter() - t1) * 1000, 2), "batches": batches,
                             "plans_compiled": self.stats["plans_compiled"] - compiled}   # model_ms includes them
        return bytes(out), C

    def _length(self, n: int) -> int:
        return n if self.exact else bucket_length(n, self.max_length)

    def _batches(self, ids: list, batch_size: int):
        """Row indices, longest first, cut where padding the rows together would cost more than one more
        batch (self.batch_cost): exact shapes (CPU) by `exact_cuts`; bucketed shapes (GPU, numpy) by the same
        search over bucketed [B, T], so a short text is padded to a long one's length only where that is
        cheaper than another run (on a GPU, another round trip: GPU_BATCH_COST_TOKENS)."""
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        lengths = [len(ids[i]) for i in order]
        if self.exact:
            spans = exact_cuts(lengths, batch_size, self.batch_cost)
        else:   # padded lengths are bucketed (still longest first), batch sizes rounded up to a power of two
            rows_padded = [bucket_batch(r) for r in range(batch_size + 1)]
            spans = cheapest_cuts([bucket_length(n, self.max_length) for n in lengths], batch_size,
                                  self.batch_cost, lambda rows, n: rows_padded[rows] * n)
        for lo, hi in spans:
            yield order[lo:hi]

    def batch_inputs(self, batch_ids: list, batch_types: list) -> tuple:
        """(B, T, the plan's inputs) for these rows: padded to the bucket's [B, T] (extra rows are all
        padding), or unpadded with exact shapes."""
        n = len(batch_ids)
        T = self._length(max(len(ids) for ids in batch_ids))
        B = n if self.exact else bucket_batch(n)
        ids, types, mask = [], [], []
        for row in range(B):
            r_ids = batch_ids[row] if row < n else []
            r_types = batch_types[row] if row < n else []
            pad = T - len(r_ids)
            ids += list(r_ids) + [0] * pad
            types += list(r_types) + [0] * pad
            mask += [1.0] * len(r_ids) + [0.0] * pad
        return B, T, {"input_ids": _array("i", ids), "token_type_ids": _array("i", types),
                      "attention_mask": _array("f", mask)}

    async def _encode_batch(self, encoder, batch_ids: list, batch_types: list) -> bytes:
        """The embeddings of these rows: f32 bytes [len(batch_ids), C] (bucket padding rows dropped)."""
        B, T, inputs = self.batch_inputs(batch_ids, batch_types)
        program = await self._program(encoder, B, T)
        self.stats["batches_run"] += 1
        result = bytes((await program.run(inputs))["embeddings"])   # [B, C] f32
        return result[:len(result) // B * len(batch_ids)]


def exact_cuts(lengths: list, batch_size: int, batch_cost: int = BATCH_COST_TOKENS) -> list:
    """[(lo, hi), ...] covering lengths (sorted longest first) with batches of at most batch_size rows,
    each padded to its first row's length, that minimise padded tokens + batch_cost per batch.
    E.g. the bench's 32 sentences of 17-24 tokens: 4 batches and 648 tokens instead of one batch of 32 x 24 = 768."""
    return cheapest_cuts(lengths, batch_size, batch_cost, lambda rows, n: rows * n)


def cheapest_cuts(lengths: list, batch_size: int, batch_cost: int, padded) -> list:
    """[(lo, hi), ...] covering lengths (sorted longest first) with batches of at most batch_size rows that
    minimise the sum of padded(rows, first row's length) + batch_cost per batch (dynamic programming over the
    cut points; a batch of sorted rows is always a run of neighbours)."""
    n = len(lengths)
    best = [0] + [None] * n        # best[j]: the cheapest cost of rows [0, j)
    cut = [0] * (n + 1)            # cut[j]: where the last batch of that cheapest cover starts
    for j in range(1, n + 1):
        for i in range(max(0, j - batch_size), j):
            c = best[i] + batch_cost + padded(j - i, lengths[i])
            if best[j] is None or c < best[j]:
                best[j], cut[j] = c, i
    spans, j = [], n
    while j > 0:
        spans.append((cut[j], j))
        j = cut[j]
    return spans[::-1]


def _array(code: str, values):
    from array import array

    if isinstance(values, (bytes, bytearray)):
        a = array(code)
        a.frombytes(values)
        return a
    return array(code, values)
