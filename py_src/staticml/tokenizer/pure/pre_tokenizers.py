"""tokenizer.json `pre_tokenizer` section: split one normalized piece into words for the model.

A pre-tokenizer maps (piece, at_origin) -> [(word, at_origin)], where at_origin says the word starts at
offset 0 of the original text (Metaspace's prepend_scheme "first" needs it). Empty words are dropped, as
Rust's PreTokenizedString drops empty splits.
"""
import re
from typing import Callable

from ..errors import TokenizerError
from . import charclass as cc
from .byte_level import gpt2_split, to_byte_chars

Words = list[tuple[str, bool]]
PreTokenizer = Callable[[str, bool], Words]


def _ascii_class(keep) -> str:
    """A regex character class of the ASCII chars whose charclass flags satisfy keep(flags)."""
    return "[" + "".join(f"\\x{cp:02x}" for cp in range(128) if keep(cc.flags(chr(cp)))) + "]"


# BertPreTokenizer on ASCII text, by the same tables: runs of chars that are neither whitespace nor
# punctuation, and each punctuation char alone (whitespace matches nothing, so it is dropped). One regex
# scan instead of a Python loop per character: the loop was ~90 % of tokenizing MiniLM's English text.
_BERT_ASCII_WORDS = re.compile(
    _ascii_class(lambda f: not f & (cc.WHITESPACE | cc.BERT_PUNCT)) + "+|"
    + _ascii_class(lambda f: f & cc.BERT_PUNCT and not f & cc.WHITESPACE))
_ASCII_WHITESPACE = frozenset(chr(cp) for cp in range(128) if cc.flags(chr(cp)) & cc.WHITESPACE)


def bert_split(text: str, at_origin: bool) -> Words:
    """BertPreTokenizer: split on whitespace (dropped) and on every punctuation char (kept alone)."""
    if text.isascii():
        words = _BERT_ASCII_WORDS.findall(text)
        out = [(w, False) for w in words]
        if out and at_origin and text[0] not in _ASCII_WHITESPACE:   # the first word starts at offset 0
            out[0] = (out[0][0], True)
        return out
    return bert_split_chars(text, at_origin)


def bert_split_chars(text: str, at_origin: bool) -> Words:
    """bert_split for any text, one character at a time (the definition the ASCII path must equal)."""
    out: Words = []
    start = 0
    for i, c in enumerate(text):
        f = cc.flags(c)
        if f & (cc.WHITESPACE | cc.BERT_PUNCT):
            if i > start:
                out.append((text[start:i], at_origin and start == 0))
            if f & cc.BERT_PUNCT and not f & cc.WHITESPACE:
                out.append((c, at_origin and i == 0))
            start = i + 1
    if len(text) > start:
        out.append((text[start:], at_origin and start == 0))
    return out


def _bert(spec: dict) -> PreTokenizer:
    return bert_split


def _whitespace_split(spec: dict) -> PreTokenizer:
    def split(text: str, at_origin: bool) -> Words:
        out: Words = []
        start = 0
        for i, c in enumerate(text):
            if cc.flags(c) & cc.WHITESPACE:
                if i > start:
                    out.append((text[start:i], at_origin and start == 0))
                start = i + 1
        if len(text) > start:
            out.append((text[start:], at_origin and start == 0))
        return out

    return split


def _byte_level(spec: dict) -> PreTokenizer:
    add_prefix_space, use_regex = spec.get("add_prefix_space", True), spec.get("use_regex", True)

    def split(text: str, at_origin: bool) -> Words:
        if add_prefix_space and not text.startswith(" "):
            text = " " + text
        pieces = gpt2_split(text) if use_regex else [text]
        return [(to_byte_chars(p), at_origin and k == 0) for k, p in enumerate(pieces)]

    return split


def _metaspace(spec: dict) -> PreTokenizer:
    rep = spec.get("replacement", "▁")
    scheme = spec.get("prepend_scheme")
    if scheme is None:  # files written before prepend_scheme existed
        scheme = "always" if spec.get("add_prefix_space", True) else "never"
    if scheme not in ("always", "first", "never"):
        raise TokenizerError(f"Metaspace prepend_scheme {scheme!r} is not one of always/first/never")
    split_words = spec.get("split", True)

    def split(text: str, at_origin: bool) -> Words:
        text = text.replace(" ", rep)
        if (scheme == "always" or (scheme == "first" and at_origin)) and not text.startswith(rep):
            text = rep + text
        if not split_words:
            return [(text, at_origin)]
        # MergedWithNext: each replacement char starts a new word
        out: Words = []
        start = 0
        i = text.find(rep, 1)
        while i != -1:
            out.append((text[start:i], at_origin and start == 0))
            start = i
            i = text.find(rep, i + 1)
        out.append((text[start:], at_origin and start == 0))
        return out

    return split


def _sequence(spec: dict) -> PreTokenizer:
    steps = [build(s) for s in spec["pretokenizers"]]

    def split(text: str, at_origin: bool) -> Words:
        words: Words = [(text, at_origin)]
        for step in steps:
            words = [w for piece, origin in words for w in step(piece, origin) if w[0]]
        return words

    return split


_BUILDERS: dict[str, Callable[[dict], PreTokenizer]] = {
    "BertPreTokenizer": _bert,
    "WhitespaceSplit": _whitespace_split,
    "ByteLevel": _byte_level,
    "Metaspace": _metaspace,
    "Sequence": _sequence,
}


def build(spec: dict | None) -> PreTokenizer:
    if spec is None:
        return lambda text, at_origin: [(text, at_origin)]
    kind = spec.get("type")
    if kind not in _BUILDERS:
        raise TokenizerError(f"tokenizer.json pre_tokenizer {kind!r} is not supported by staticml's browser "
                             f"tokenizer (supported: {', '.join(sorted(_BUILDERS))})")
    return _BUILDERS[kind](spec)
