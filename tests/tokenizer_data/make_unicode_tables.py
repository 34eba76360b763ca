"""Regenerate `py_src/staticml/tokenizer/pure/unicode_tables.py` from the Rust `tokenizers` library itself.

Why: the Rust library classifies characters with its own (old) Unicode tables (crate `unicode_categories`
for BERT, Oniguruma for the GPT-2 regex, Rust std for whitespace and lowercase). Python's `unicodedata`
is a different Unicode version natively (3.11) and in Pyodide (3.14), so the pure-Python tokenizer would
disagree with Rust on newer characters. Probing every code point through the Rust components gives the
exact tables Rust uses, and the browser then carries them as data.

Run: /work/main/.venv/bin/python tests/tokenizer_data/make_unicode_tables.py [--check]
(`--check` exits 1 when the committed file differs; tests/native/test_tokenizer_unicode_tables.py runs it.)
"""
import sys
from pathlib import Path

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers

OUT = Path(__file__).resolve().parents[2] / "py_src" / "staticml" / "tokenizer" / "pure" / "unicode_tables.py"
MAX_CP = 0x10FFFF


def code_points():
    for cp in range(MAX_CP + 1):
        if not 0xD800 <= cp <= 0xDFFF:  # surrogates cannot occur in a Rust str (nor in decoded UTF-8)
            yield cp


def to_ranges(cps) -> list[tuple[int, int]]:
    """Sorted code points -> inclusive (first, last) ranges; surrogates bridge ranges they interrupt."""
    ranges: list[list[int]] = []
    for cp in cps:
        if ranges and (ranges[-1][1] + 1 == cp or (ranges[-1][1] == 0xD7FF and cp == 0xE000)):
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return [(a, b) for a, b in ranges]


CHUNK = 1 << 16


def _uncovered(pieces, n: int) -> list[int]:
    """Char positions in 0..n that no (piece, (start, end)) covers."""
    covered = bytearray(n)
    for _, (a, b) in pieces:
        covered[a:b] = b"\x01" * (b - a)
    return [i for i in range(n) if not covered[i]]


def probe() -> dict:
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False,
                                       lowercase=False)
    bert_pre = pre_tokenizers.BertPreTokenizer()
    ws_split = pre_tokenizers.WhitespaceSplit()
    strip_accents = normalizers.StripAccents()  # drops every combining mark (Mn, Mc, Me)
    bert_strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True,
                                            lowercase=False)  # NFD, then drops non-spacing marks (Mn) only
    lower = normalizers.Lowercase()
    onig = {name: pre_tokenizers.Split(Regex(pattern), "removed")
            for name, pattern in (("L", r"\p{L}"), ("N", r"\p{N}"), ("S", r"\s"))}
    sets: dict[str, list[int]] = {k: [] for k in ("BERT_REMOVED", "BERT_SPACE", "BERT_PUNCT", "RUST_WHITESPACE",
                                                   "COMBINING_MARK", "BERT_MARK", "ONIG_L", "ONIG_N", "ONIG_S", "WORD_CHAR")}
    nfd, nfkd = normalizers.NFD(), normalizers.NFKD()
    # a single_word added token matches only when no "word" char touches it: probe which chars are words
    single_word = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    single_word.add_tokens([AddedToken("Q", single_word=True)])
    norm_active: set[int] = set()  # chars Rust's (older-Unicode) normalization does anything with
    lower_map: dict[int, str] = {}
    for cp in code_points():
        c = chr(cp)
        cleaned = clean.normalize_str(c)
        if cleaned == "":
            sets["BERT_REMOVED"].append(cp)
        elif cleaned == " ":
            sets["BERT_SPACE"].append(cp)
        if strip_accents.normalize_str(c) == "":
            sets["COMBINING_MARK"].append(cp)
        if bert_strip.normalize_str(c) == "":
            sets["BERT_MARK"].append(cp)
        for form in (nfd, nfkd):
            d = form.normalize_str(c)
            if d != c:  # decomposes: it and every char of its decomposition take part in (de)composition
                norm_active.add(cp)
                norm_active.update(map(ord, d))
        # a non-zero combining class reorders: ccc(c) > 1 moves c after U+0334 (ccc 1); 0 < ccc(c) < 220
        # moves c before U+0316 (ccc 220)
        if nfd.normalize_str(c + "\u0334") == "\u0334" + c or nfd.normalize_str("\u0316" + c) == c + "\u0316":
            norm_active.add(cp)
        lowered = lower.normalize_str(c)
        if lowered != c:
            lower_map[cp] = lowered
    # the pre-tokenizer probes run on long strings, a chunk at a time (offsets are in chars)
    cps = list(code_points())
    for at in range(0, len(cps), CHUNK):
        chunk = cps[at:at + CHUNK]
        text = "".join(map(chr, chunk))
        for name, split in onig.items():  # "removed": what no kept piece covers matched the class
            sets["ONIG_" + name] += [chunk[i] for i in _uncovered(split.pre_tokenize_str(text), len(chunk))]
        sets["RUST_WHITESPACE"] += [chunk[i] for i in _uncovered(ws_split.pre_tokenize_str(text), len(chunk))]
        # char k sits at 2k+1 between "a"s: only punctuation comes out as a piece of its own
        spaced = "".join("a" + chr(cp) for cp in chunk) + "a"
        sets["BERT_PUNCT"] += [chunk[(a - 1) // 2] for _, (a, b) in bert_pre.pre_tokenize_str(spaced)
                               if b == a + 1 and a % 2 == 1]
        encs = single_word.encode_batch([chr(cp) + "Q" for cp in chunk])
        sets["WORD_CHAR"] += [cp for cp, e in zip(chunk, encs) if 1 not in e.ids]
    for name in ("ONIG_L", "ONIG_N", "ONIG_S", "RUST_WHITESPACE", "BERT_PUNCT", "WORD_CHAR"):
        sets[name].sort()
    sets["NORMALIZATION_ACTIVE"] = sorted(norm_active)
    return {"ranges": {k: to_ranges(v) for k, v in sets.items()}, "lower": lower_map}


def render(tables: dict) -> str:
    lines = [
        '"""GENERATED by tests/tokenizer_data/make_unicode_tables.py from Rust `tokenizers` '
        f'{tokenizers.__version__}; do not edit.',
        "",
        "Character classes exactly as the Rust library sees them (inclusive code point ranges), so the",
        'pure-Python tokenizer agrees with it whatever Unicode version the running Python has."""',
        "",
    ]
    for name, ranges in tables["ranges"].items():
        flat = ",".join(f"{a:#x},{b:#x}" for a, b in ranges)
        lines.append(f"{name} = ({flat})  # {len(ranges)} ranges, flat (first, last) pairs")
    pairs = ",".join(f"{cp:#x}:{s!r}" for cp, s in sorted(tables["lower"].items()))
    lines.append(f"LOWERCASE = {{{pairs}}}  # code point -> Rust char::to_lowercase, where it changes")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render(probe())
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale for tokenizers {tokenizers.__version__}: rerun {Path(__file__).name}")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
