"""GPT-2 byte-level pieces: the pre-tokenizer regex, hand-written, and the byte <-> printable-char map.

Python's `re` has no \\p{L} / \\p{N}, so the split of
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
is a scanner over the Oniguruma character classes Rust uses (generated tables, see charclass.py).
"""
from . import charclass as cc


def _bytes_to_unicode() -> list[str]:
    """GPT-2's map: printable Latin-1 bytes stand for themselves, the rest shift to U+0100.."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shift = [""] * 256, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + shift)
            shift += 1
    return table


BYTE_CHARS = _bytes_to_unicode()                      # byte value -> its printable char
CHAR_BYTES = {c: b for b, c in enumerate(BYTE_CHARS)}  # printable char -> byte value
_LATIN1_TO_CHARS = {b: c for b, c in enumerate(BYTE_CHARS)}


def to_byte_chars(piece: str) -> str:
    """UTF-8 bytes of `piece`, each written as its printable char (what the BPE vocab is made of)."""
    return piece.encode("utf-8").decode("latin-1").translate(_LATIN1_TO_CHARS)


_LNS = cc.LETTER | cc.NUMBER | cc.SPACE


def gpt2_split(text: str) -> list[str]:
    out: list[str] = []
    flags = cc.flags
    n, i = len(text), 0
    while i < n:
        c = text[i]
        if c == "'" and i + 1 < n:  # contractions come first in the alternation
            if text[i + 1] in "stmd":
                out.append(text[i:i + 2])
                i += 2
                continue
            if text[i + 1:i + 3] in ("re", "ve", "ll"):
                out.append(text[i:i + 3])
                i += 3
                continue
        j = i + 1 if c == " " and i + 1 < n else i  # the optional literal space of ` ?X+`
        f = flags(text[j])
        if f & cc.LETTER or f & cc.NUMBER or not f & _LNS:
            want = cc.LETTER if f & cc.LETTER else cc.NUMBER if f & cc.NUMBER else 0
            k = j + 1
            if want:
                while k < n and flags(text[k]) & want:
                    k += 1
            else:
                while k < n and not flags(text[k]) & _LNS:
                    k += 1
            out.append(text[i:k])
            i = k
            continue
        # text[i] is whitespace: `\s+(?!\S)` backs off one char before a non-space, else `\s+`
        k = i + 1
        while k < n and flags(text[k]) & cc.SPACE:
            k += 1
        if k < n and k - i >= 2:
            k -= 1
        out.append(text[i:k])
        i = k
    return out
