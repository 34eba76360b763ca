"""BPE: byte-level (GPT-2) and SentencePiece-style with byte fallback (Llama), merged by rank.

Merging follows Rust's `Word::merge_all`: a heap ordered by (rank, position of the left symbol), stale
entries skipped, so ties resolve left to right exactly like Rust.
"""
import heapq

from ..errors import TokenizerError


class BPE:
    def __init__(self, spec: dict):
        for key in ("continuing_subword_prefix", "end_of_word_suffix"):
            if spec.get(key):
                raise TokenizerError(f"BPE {key}={spec[key]!r} is not supported by staticml's browser tokenizer")
        if spec.get("dropout") not in (None, 0, 0.0):
            raise TokenizerError("BPE dropout is for training; set it to null in tokenizer.json for inference")
        self.vocab: dict[str, int] = spec["vocab"]
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.unk = spec.get("unk_token")
        self.fuse_unk = spec.get("fuse_unk", False)
        self.byte_fallback = spec.get("byte_fallback", False)
        self.ignore_merges = spec.get("ignore_merges", False)
        # (left id, right id) -> (rank, merged id); merges are "a b" strings (old files) or [a, b] pairs
        self.merges: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, m in enumerate(spec.get("merges", [])):
            a, b = m.split(" ", 1) if isinstance(m, str) else m
            try:
                self.merges[(self.vocab[a], self.vocab[b])] = (rank, self.vocab[a + b])
            except KeyError as e:
                raise TokenizerError(f"BPE merge {a!r} + {b!r} uses token {e.args[0]!r} missing from the vocab")
        self.byte_ids = [self.vocab.get(f"<0x{b:02X}>") for b in range(256)]
        self.cache: dict[str, list[int]] = {}

    def _unk_id(self) -> int:
        if self.unk not in self.vocab:
            raise TokenizerError(f"BPE unk_token {self.unk!r} is not in the vocab; the tokenizer.json is broken")
        return self.vocab[self.unk]

    def _symbols(self, word: str) -> list[int]:
        """Initial symbols: one per char, else its <0xNN> bytes, else (fused) unk; Rust's order kept."""
        ids: list[int] = []
        unk: int | None = None  # a pending unk, written when the next known char arrives
        vocab = self.vocab
        for c in word:
            tid = vocab.get(c)
            if tid is not None:
                if unk is not None:
                    ids.append(unk)
                    unk = None
                ids.append(tid)
                continue
            if self.byte_fallback:
                bs = [self.byte_ids[b] for b in c.encode("utf-8")]
                if None not in bs:
                    ids.extend(bs)  # Rust does not flush a pending unk here either
                    continue
            if self.unk is not None:
                if unk is not None and not self.fuse_unk:
                    ids.append(unk)
                unk = self._unk_id()
        if unk is not None:
            ids.append(unk)
        return ids

    def tokenize(self, word: str) -> list[int]:
        hit = self.cache.get(word)
        if hit is not None:
            return hit
        if self.ignore_merges and word in self.vocab:
            ids = [self.vocab[word]]
        else:
            ids = self._merge(self._symbols(word))
        if len(self.cache) < 50_000:
            self.cache[word] = ids
        return ids

    def _merge(self, ids: list[int]) -> list[int]:
        n = len(ids)
        if n < 2:
            return ids
        merges = self.merges
        nxt = list(range(1, n + 1))   # nxt[i] == n: no right neighbour
        prv = list(range(-1, n - 1))
        alive = [True] * n
        heap = []
        for i in range(n - 1):
            m = merges.get((ids[i], ids[i + 1]))
            if m is not None:
                heap.append((m[0], i, m[1]))
        heapq.heapify(heap)
        while heap:
            rank, pos, new_id = heapq.heappop(heap)
            if not alive[pos] or nxt[pos] == n:
                continue
            right = nxt[pos]
            m = merges.get((ids[pos], ids[right]))
            if m is None or m[1] != new_id:
                continue  # a stale entry: one side was merged into something else since
            ids[pos] = new_id
            alive[right] = False
            nxt[pos] = nxt[right]
            if nxt[pos] < n:
                prv[nxt[pos]] = pos
            if prv[pos] >= 0:
                m = merges.get((ids[prv[pos]], new_id))
                if m is not None:
                    heapq.heappush(heap, (m[0], prv[pos], m[1]))
            if nxt[pos] < n:
                m = merges.get((new_id, ids[nxt[pos]]))
                if m is not None:
                    heapq.heappush(heap, (m[0], pos, m[1]))
        return [t for t, a in zip(ids, alive) if a]
