"""Character classes as the Rust `tokenizers` library sees them, from the generated `unicode_tables`.

Each class is a bisect over inclusive ranges, memoised per character: tokenizing touches few distinct
characters, so the dict makes the lookups as cheap as `str` methods while staying version-independent.
"""
import re
from bisect import bisect_right

from . import unicode_tables as T

# MARK: any combining mark (StripAccents); BERT_MARK: non-spacing only (BertNormalizer's strip_accents)
REMOVED, BERT_SPACE, BERT_PUNCT, WHITESPACE, MARK, BERT_MARK, LETTER, NUMBER, SPACE = (1 << i for i in range(9))
_TABLES = ((REMOVED, T.BERT_REMOVED), (BERT_SPACE, T.BERT_SPACE), (BERT_PUNCT, T.BERT_PUNCT),
           (WHITESPACE, T.RUST_WHITESPACE), (MARK, T.COMBINING_MARK), (BERT_MARK, T.BERT_MARK),
           (LETTER, T.ONIG_L), (NUMBER, T.ONIG_N), (SPACE, T.ONIG_S))
# starts/ends split out of the flat (first, last) pairs once, for bisect
_RANGES = tuple((bit, flat[0::2], flat[1::2]) for bit, flat in _TABLES)
_memo: dict[str, int] = {}


def flags(c: str) -> int:
    """Bit set of the classes `c` (one character) belongs to."""
    f = _memo.get(c)
    if f is None:
        cp, f = ord(c), 0
        for bit, starts, ends in _RANGES:
            i = bisect_right(starts, cp) - 1
            if i >= 0 and cp <= ends[i]:
                f |= bit
        _memo[c] = f
    return f


def lower(text: str) -> str:
    """Rust's char-by-char `to_lowercase` (no final-sigma context rule, unlike `str.lower`)."""
    table = T.LOWERCASE
    return "".join(table.get(ord(c), c) for c in text) if not text.isascii() else text.lower()


def _runs_of(flat: tuple) -> "re.Pattern[str]":
    ranges = zip(flat[0::2], flat[1::2])
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]+")


# Runs of the characters Rust's Unicode normalization acts on. Everything else is, for Rust, an inert
# starter (often a character its older Unicode data does not know yet), so normalizing only these runs
# with `unicodedata` gives Rust's result whatever Unicode version this Python has.
NORMALIZATION_RUNS = _runs_of(T.NORMALIZATION_ACTIVE)
