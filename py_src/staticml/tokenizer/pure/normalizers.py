"""tokenizer.json `normalizer` section: str -> str functions matching the Rust normalizers.

Offsets are not tracked (the browser backend reports no offsets); only the resulting text matters for ids.
"""
import re
import unicodedata
from typing import Callable

from ..errors import TokenizerError
from . import charclass as cc

Normalizer = Callable[[str], str]


def _is_chinese(cp: int) -> bool:
    # the exact ranges of tokenizers' bert.rs (including its 0x2B920 start, not BERT's original 0x2B820)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B920 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def unicode_normalize(form: str, text: str) -> str:
    """`unicodedata.normalize` limited to the characters Rust's normalization tables know (charclass.py)."""
    if text.isascii():
        return text
    return cc.NORMALIZATION_RUNS.sub(lambda m: unicodedata.normalize(form, m.group()), text)


def _strip_marks(text: str) -> str:
    """NFD, then drop non-spacing marks (Mn): what BertNormalizer's strip_accents does."""
    text = unicode_normalize("NFD", text)
    return text if text.isascii() else "".join(c for c in text if not cc.flags(c) & cc.BERT_MARK)


def bert(spec: dict) -> Normalizer:
    clean, chinese = spec.get("clean_text", True), spec.get("handle_chinese_chars", True)
    lowercase = spec.get("lowercase", True)
    strip = spec.get("strip_accents")
    strip = lowercase if strip is None else strip

    def normalize(text: str) -> str:
        if not text.isascii():
            out = []
            for c in text:
                f = cc.flags(c)
                if clean and f & cc.REMOVED:
                    continue
                if clean and f & cc.BERT_SPACE:
                    out.append(" ")
                elif chinese and _is_chinese(ord(c)):
                    out.append(" " + c + " ")
                else:
                    out.append(c)
            text = "".join(out)
        elif clean:
            text = text.translate(_ASCII_CLEAN)
        if strip:
            text = _strip_marks(text)
        return cc.lower(text) if lowercase else text

    return normalize


# ASCII part of clean_text: controls other than \t \n \r are removed, those three become spaces
_ASCII_CLEAN = {cp: None for cp in range(0x80) if chr(cp) != " " and cc.flags(chr(cp)) & cc.REMOVED}
_ASCII_CLEAN.update({cp: " " for cp in range(0x80) if chr(cp) != " " and cc.flags(chr(cp)) & cc.BERT_SPACE})


def _unicode_form(form: str) -> Normalizer:
    return lambda text: unicode_normalize(form, text)


def _replace(spec: dict) -> Normalizer:
    pattern, content = spec["pattern"], spec["content"]
    if "String" in pattern:
        literal = pattern["String"]
        return lambda text: text.replace(literal, content)
    try:
        regex = re.compile(pattern["Regex"])
    except re.error as e:
        raise TokenizerError(f"Replace normalizer regex {pattern['Regex']!r} is not valid for Python's re "
                             f"({e}); staticml's browser tokenizer supports plain patterns only") from None
    return lambda text: regex.sub(lambda _match: content, text)  # Rust inserts `content` literally


def _strip(spec: dict) -> Normalizer:
    left, right = spec.get("strip_left", True), spec.get("strip_right", True)

    def strip(text: str) -> str:
        i, j = 0, len(text)
        while left and i < j and cc.flags(text[i]) & cc.WHITESPACE:
            i += 1
        while right and j > i and cc.flags(text[j - 1]) & cc.WHITESPACE:
            j -= 1
        return text[i:j]

    return strip


def _sequence(spec: dict) -> Normalizer:
    steps = [build(s) for s in spec["normalizers"]]

    def normalize(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return normalize


_BUILDERS: dict[str, Callable[[dict], Normalizer]] = {
    "BertNormalizer": bert,
    "Lowercase": lambda spec: cc.lower,
    "NFC": lambda spec: _unicode_form("NFC"),
    "NFD": lambda spec: _unicode_form("NFD"),
    "NFKC": lambda spec: _unicode_form("NFKC"),
    "NFKD": lambda spec: _unicode_form("NFKD"),
    "StripAccents": lambda spec: lambda text: text if text.isascii() else "".join(
        c for c in text if not cc.flags(c) & cc.MARK),
    "Replace": _replace,
    "Prepend": lambda spec: lambda text, p=spec["prepend"]: p + text if text else text,
    "Strip": _strip,
    "Sequence": _sequence,
}


def build(spec: dict | None) -> Normalizer | None:
    if spec is None:
        return None
    kind = spec.get("type")
    if kind not in _BUILDERS:
        raise TokenizerError(f"tokenizer.json normalizer {kind!r} is not supported by staticml's browser "
                             f"tokenizer (supported: {', '.join(sorted(_BUILDERS))})")
    return _BUILDERS[kind](spec)
