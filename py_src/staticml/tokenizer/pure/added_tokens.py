"""Added and special tokens: found in the text before normalization (normalized=false) or in each
normalized piece (normalized=true), leftmost-longest like Rust's Aho-Corasick matcher."""
import re
from typing import Callable

from ..errors import TokenizerError

# (text, token id or None, at_origin): a None id means "ordinary text, still to be tokenized"
Piece = tuple[str, int | None, bool]


def _matcher(contents: list[str]):
    if not contents:
        return None
    # longest first: at any start position Python's alternation then picks the longest token
    return re.compile("|".join(re.escape(c) for c in sorted(contents, key=len, reverse=True)))


class AddedTokens:
    def __init__(self, specs: list[dict], normalizer: Callable[[str], str] | None):
        self.id_of: dict[str, int] = {}
        self.content_of: dict[int, str] = {}
        self.special_ids: set[int] = set()
        raw, normalized = [], []
        for t in specs:
            for flag in ("single_word", "lstrip", "rstrip"):
                if t.get(flag):
                    raise TokenizerError(f"added token {t['content']!r} sets {flag}, which staticml's browser "
                                         "tokenizer does not implement")
            self.id_of[t["content"]] = t["id"]
            self.content_of[t["id"]] = t["content"]
            if t.get("special"):
                self.special_ids.add(t["id"])
            if t.get("normalized", not t.get("special")) and normalizer is not None:
                normalized.append(t)
            else:
                raw.append(t["content"])
        self.normalizer = normalizer
        self.raw = _matcher(raw)
        # a normalized token is looked for in its own normalized form
        self.norm_ids = {normalizer(t["content"]): t["id"] for t in normalized} if normalized else {}
        self.norm = _matcher([c for c in self.norm_ids if c])

    @staticmethod
    def _split(text: str, at_origin: bool, matcher, ids: dict[str, int]) -> list[Piece]:
        if matcher is None:
            return [(text, None, at_origin)]
        out: list[Piece] = []
        pos = 0
        for m in matcher.finditer(text):
            if m.start() > pos:
                out.append((text[pos:m.start()], None, at_origin and pos == 0))
            out.append((m.group(), ids[m.group()], at_origin and m.start() == 0))
            pos = m.end()
        if pos < len(text):
            out.append((text[pos:], None, at_origin and pos == 0))
        return out

    def split_and_normalize(self, text: str) -> list[Piece]:
        """Raw-text tokens first; the text between them is normalized, then searched for normalized tokens."""
        out: list[Piece] = []
        for piece, tid, origin in self._split(text, True, self.raw, self.id_of):
            if tid is not None:
                out.append((piece, tid, origin))
                continue
            if self.normalizer is not None:
                piece = self.normalizer(piece)
            out.extend(p for p in self._split(piece, origin, self.norm, self.norm_ids) if p[0])
        return out
