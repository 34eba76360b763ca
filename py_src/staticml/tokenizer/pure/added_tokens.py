"""Added and special tokens: found in the text before normalization (normalized=false) or in each
normalized piece (normalized=true), leftmost-longest like Rust's Aho-Corasick matcher, with Rust's
single_word (no word char may touch the match), lstrip and rstrip (the match swallows whitespace)."""
import re
from typing import Callable

from . import charclass as cc

# (text, token id or None, at_origin): a None id means "ordinary text, still to be tokenized"
Piece = tuple[str, int | None, bool]


class _Set:
    """One group of added tokens searched together: content -> (id, single_word, lstrip, rstrip)."""

    def __init__(self, tokens: dict[str, tuple[int, bool, bool, bool]]):
        self.tokens = tokens
        # longest first: at any start position Python's alternation then picks the longest token
        self.regex = re.compile("|".join(re.escape(c) for c in sorted(tokens, key=len, reverse=True))) \
            if tokens else None

    def split(self, text: str, at_origin: bool) -> list[Piece]:
        if self.regex is None:
            return [(text, None, at_origin)]
        out: list[Piece] = []
        pos = 0
        for m in self.regex.finditer(text):
            start, stop = m.span()
            tid, single_word, lstrip, rstrip = self.tokens[m.group()]
            if single_word and ((start > 0 and cc.flags(text[start - 1]) & cc.WORD)
                                or (stop < len(text) and cc.flags(text[stop]) & cc.WORD)):
                continue  # Rust drops the match (and does not look for a shorter one here)
            if lstrip:
                while start > 0 and cc.flags(text[start - 1]) & cc.WHITESPACE:
                    start -= 1
            if rstrip:
                while stop < len(text) and cc.flags(text[stop]) & cc.WHITESPACE:
                    stop += 1
            if pos < start:
                out.append((text[pos:start], None, at_origin and pos == 0))
            out.append((text[start:stop], tid, at_origin and start == 0))
            pos = stop
        if pos < len(text):
            out.append((text[pos:], None, at_origin and pos == 0))
        return out


def _rust_ids(specs: list[dict], model_vocab: dict[str, int], vocab_size: int) -> list[int]:
    """The ids Rust gives the file's added tokens: it re-adds them in file order, so a token already in
    the model vocab takes the model's id and a new one the next id after the vocab (the file's "id" is
    only checked, with a warning). For well-formed files the two agree."""
    ids: list[int] = []
    seen: dict[str, int] = {}
    for t in specs:
        c = t["content"]
        if c in seen:
            tid = seen[c]
        elif c in model_vocab:
            tid = model_vocab[c]
        else:
            top = max((i for i in seen.values() if i >= vocab_size), default=None)
            tid = vocab_size if top is None else top + 1
        seen[c] = tid
        ids.append(tid)
    return ids


class AddedTokens:
    def __init__(self, specs: list[dict], normalizer: Callable[[str], str] | None, model_vocab: dict[str, int],
                 vocab_size: int):
        self.content_of: dict[int, str] = {}
        self.special_ids: set[int] = set()
        raw: dict[str, tuple[int, bool, bool, bool]] = {}
        normalized: dict[str, tuple[int, bool, bool, bool]] = {}
        for t, tid in zip(specs, _rust_ids(specs, model_vocab, vocab_size)):
            entry = (tid, bool(t.get("single_word")), bool(t.get("lstrip")), bool(t.get("rstrip")))
            t = {**t, "id": tid}
            self.content_of[t["id"]] = t["content"]
            if t.get("special"):
                self.special_ids.add(t["id"])
            if t.get("normalized", not t.get("special")) and normalizer is not None:
                key = normalizer(t["content"])  # a normalized token is looked for in its normalized form
                self.content_of[t["id"]] = key  # and Rust's id_to_token (so decode) gives that form too
                if key:
                    normalized[key] = entry
            else:
                raw[t["content"]] = entry
        self.normalizer = normalizer
        self.raw, self.norm = _Set(raw), _Set(normalized)

    def split_and_normalize(self, text: str) -> list[Piece]:
        """Raw-text tokens first; the text between them is normalized, then searched for normalized tokens."""
        out: list[Piece] = []
        for piece, tid, origin in self.raw.split(text, True):
            if tid is not None:
                out.append((piece, tid, origin))
                continue
            if self.normalizer is not None:
                piece = self.normalizer(piece)
            out.extend(p for p in self.norm.split(piece, origin) if p[0])
        return out
