"""WordPiece (BERT): greedy longest-match-first over the vocab, "##" marks a word-internal piece."""
from ..errors import TokenizerError


class WordPiece:
    def __init__(self, spec: dict):
        self.vocab: dict[str, int] = spec["vocab"]
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.prefix = spec.get("continuing_subword_prefix", "##")
        self.max_chars = spec.get("max_input_chars_per_word", 100)
        unk = spec.get("unk_token", "[UNK]")
        if unk not in self.vocab:
            raise TokenizerError(f"WordPiece unk_token {unk!r} is not in the vocab; the tokenizer.json is broken")
        self.unk_id = self.vocab[unk]
        # no vocab entry is longer than this, so the search never needs to try longer substrings
        self.longest = max(len(t) for t in self.vocab)
        self.cache: dict[str, list[int]] = {}

    def tokenize(self, word: str) -> list[int]:
        hit = self.cache.get(word)
        if hit is not None:
            return hit
        ids = self._tokenize(word)
        if len(self.cache) < 50_000:  # bounded: long documents of unique words must not grow it forever
            self.cache[word] = ids
        return ids

    def _tokenize(self, word: str) -> list[int]:
        n = len(word)
        if n > self.max_chars:
            return [self.unk_id]
        ids, start, vocab = [], 0, self.vocab
        while start < n:
            end = min(n, start + self.longest)
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                tid = vocab.get(piece)
                if tid is not None:
                    ids.append(tid)
                    break
                end -= 1
            else:
                return [self.unk_id]  # one unmatched char makes the whole word unknown
            start = end
        return ids
