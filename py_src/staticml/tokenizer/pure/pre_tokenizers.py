"""tokenizer.json `pre_tokenizer` section: split one normalized piece into words for the model.

A pre-tokenizer maps (piece, at_origin) -> [(word, at_origin)], where at_origin says the word starts at
offset 0 of the original text (Metaspace's prepend_scheme "first" needs it). Empty words are dropped, as
Rust's PreTokenizedString drops empty splits.
"""
from typing import Callable

from ..errors import TokenizerError
from . import charclass as cc
from .byte_level import gpt2_split, to_byte_chars

Words = list[tuple[str, bool]]
PreTokenizer = Callable[[str, bool], Words]


def _bert(spec: dict) -> PreTokenizer:
    """Split on whitespace (dropped) and on every punctuation char (kept alone)."""

    def split(text: str, at_origin: bool) -> Words:
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

    return split


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
