"""Unigram (T5 / SentencePiece): the best-scoring segmentation by Viterbi over a char trie.

Follows Rust's `encode_optimized`: candidates are tried shortest first and only a strictly better score
replaces a node; a position with no single-char piece gets an unk node scored min_score - 10; adjacent
unks fuse; pieces missing from the vocab fall back to <0xNN> bytes when byte_fallback is on.
"""
from ..errors import TokenizerError

UNK_PENALTY = 10.0


class Unigram:
    def __init__(self, spec: dict):
        vocab = spec["vocab"]
        if not vocab:
            raise TokenizerError("Unigram vocab is empty; the tokenizer.json is broken")
        self.pieces = [p for p, _ in vocab]
        self.scores = [float(s) for _, s in vocab]
        self.vocab = {p: i for i, p in enumerate(self.pieces)}  # a repeated piece maps to its last id, like Rust
        self.id_to_token = dict(enumerate(self.pieces))
        self.unk_id = spec.get("unk_id")
        self.byte_fallback = spec.get("byte_fallback", False)
        self.fuse_unk = True
        self.unk_score = min(self.scores) - UNK_PENALTY
        self.trie: dict = {}
        for piece, i in self.vocab.items():
            node = self.trie
            for c in piece:
                node = node.setdefault(c, {})
            node[""] = i  # "" cannot be a char key, so it marks "a piece ends here"
        self.cache: dict[str, list[int]] = {}

    def tokenize(self, word: str) -> list[int]:
        hit = self.cache.get(word)
        if hit is not None:
            return hit
        ids = self._to_ids(self._segment(word))
        if len(self.cache) < 50_000:
            self.cache[word] = ids
        return ids

    def _segment(self, text: str) -> list[tuple[str, bool]]:
        """(piece, is_unk) in order."""
        n = len(text)
        score = [0.0] * (n + 1)
        start_of = [-1] * (n + 1)   # -1: no path ends here yet
        piece_id = [0] * (n + 1)
        scores, trie = self.scores, self.trie
        for s in range(n):
            here = score[s]
            node, has_single = trie, False
            for e in range(s, n):
                node = node.get(text[e])
                if node is None:
                    break
                tid = node.get("")
                if tid is not None:
                    cand = scores[tid] + here
                    if start_of[e + 1] == -1 or cand > score[e + 1]:
                        score[e + 1], start_of[e + 1], piece_id[e + 1] = cand, s, tid
                    if e == s:
                        has_single = True
            if not has_single:
                if self.unk_id is None:
                    raise TokenizerError(f"Unigram has no unk_id but {text[s]!r} is not in its vocab")
                cand = self.unk_score + here
                if start_of[s + 1] == -1 or cand > score[s + 1]:
                    score[s + 1], start_of[s + 1], piece_id[s + 1] = cand, s, self.unk_id
        out: list[tuple[str, bool]] = []
        unk_run: list[str] = []
        end = n
        while end > 0:
            s = start_of[end]
            if self.fuse_unk and self.unk_id is not None and piece_id[end] == self.unk_id:
                unk_run.append(text[s:end])
            else:
                if unk_run:
                    out.append(("".join(reversed(unk_run)), True))
                    unk_run = []
                out.append((text[s:end], False))
            end = s
        if unk_run:
            out.append(("".join(reversed(unk_run)), True))
        out.reverse()
        return out

    def _to_ids(self, pieces: list[tuple[str, bool]]) -> list[int]:
        ids: list[int] = []
        for piece, _ in pieces:
            tid = self.vocab.get(piece)
            if tid is None:
                if self.byte_fallback:
                    bs = [self.vocab.get(f"<0x{b:02X}>") for b in piece.encode("utf-8")]
                    if None not in bs:
                        ids.extend(bs)
                        continue
                tid = self.unk_id
            ids.append(tid)
        return ids
