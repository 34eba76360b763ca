"""tokenizer.json `decoder`: token strings -> text, each step a `decode_chain` like Rust's."""
from typing import Callable

from ..errors import TokenizerError
from .byte_level import CHAR_BYTES

Chain = Callable[[list[str]], list[str]]


def _wordpiece(spec: dict) -> Chain:
    prefix, cleanup = spec.get("prefix", "##"), spec.get("cleanup", True)

    def chain(tokens: list[str]) -> list[str]:
        out = []
        for i, t in enumerate(tokens):
            if i:
                t = t.replace(prefix, "", 1) if t.startswith(prefix) else " " + t
            out.append(_cleanup(t) if cleanup else t)
        return out

    return chain


def _cleanup(s: str) -> str:
    """Undo the spaces BERT puts around punctuation and English contractions."""
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                 (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        s = s.replace(a, b)
    return s


def _byte_level(spec: dict) -> Chain:
    def chain(tokens: list[str]) -> list[str]:
        data = bytearray()
        for t in tokens:
            try:
                data.extend(CHAR_BYTES[c] for c in t)
            except KeyError:  # a token outside the byte alphabet (an added token) stands for its own UTF-8
                data.extend(t.encode("utf-8"))
        return [data.decode("utf-8", "replace")]

    return chain


def _metaspace(spec: dict) -> Chain:
    rep = spec.get("replacement", "▁")
    scheme = spec.get("prepend_scheme")
    if scheme is None:
        scheme = "always" if spec.get("add_prefix_space", True) else "never"

    def chain(tokens: list[str]) -> list[str]:
        # Rust drops every replacement char of the first token (not only a leading one)
        return [t.replace(rep, "" if i == 0 and scheme != "never" else " ") for i, t in enumerate(tokens)]

    return chain


def _replace(spec: dict) -> Chain:
    if "String" not in spec["pattern"]:
        raise TokenizerError("a Replace decoder with a Regex pattern is not supported by staticml's browser tokenizer")
    old, new = spec["pattern"]["String"], spec["content"]
    return lambda tokens: [t.replace(old, new) for t in tokens]


def _byte_fallback(spec: dict) -> Chain:
    def byte_of(t: str) -> int | None:
        if len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
            try:
                return int(t[3:5], 16)
            except ValueError:
                return None
        return None

    def chain(tokens: list[str]) -> list[str]:
        out: list[str] = []
        pending = bytearray()

        def flush():
            if pending:
                try:
                    out.append(pending.decode("utf-8"))
                except UnicodeDecodeError:  # Rust writes one U+FFFD per byte of an invalid run
                    out.extend("\ufffd" * len(pending))
                pending.clear()

        for t in tokens:
            b = byte_of(t)
            if b is None:
                flush()
                out.append(t)
            else:
                pending.append(b)
        flush()
        return out

    return chain


def _strip(spec: dict) -> Chain:
    content, start, stop = spec["content"], spec.get("start", 0), spec.get("stop", 0)

    def strip_one(t: str) -> str:
        i = 0
        while i < min(start, len(t)) and t[i] == content:
            i += 1
        j = len(t)
        for _ in range(stop):
            if j > i and t[j - 1] == content:
                j -= 1
            else:
                break
        return t[i:j]

    return lambda tokens: [strip_one(t) for t in tokens]


def _sequence(spec: dict) -> Chain:
    steps = [_chain(s) for s in spec["decoders"]]

    def chain(tokens: list[str]) -> list[str]:
        for step in steps:
            tokens = step(tokens)
        return tokens

    return chain


_BUILDERS: dict[str, Callable[[dict], Chain]] = {
    "WordPiece": _wordpiece, "ByteLevel": _byte_level, "Metaspace": _metaspace, "Replace": _replace,
    "ByteFallback": _byte_fallback, "Fuse": lambda spec: lambda tokens: ["".join(tokens)],
    "Strip": _strip, "Sequence": _sequence,
}


def _chain(spec: dict) -> Chain:
    kind = spec.get("type")
    if kind not in _BUILDERS:
        raise TokenizerError(f"tokenizer.json decoder {kind!r} is not supported by staticml's browser "
                             f"tokenizer (supported: {', '.join(sorted(_BUILDERS))})")
    return _BUILDERS[kind](spec)


def build(spec: dict | None) -> Callable[[list[str]], str]:
    if spec is None:
        return lambda tokens: " ".join(tokens)
    chain = _chain(spec)
    return lambda tokens: "".join(chain(tokens))
