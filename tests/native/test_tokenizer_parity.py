"""The pure-Python tokenizer.json implementation (the browser backend, run natively here) gives exactly
the Rust `tokenizers` results on every corpus string, for every tokenizer file: ids, attention masks and
token type ids in single and batch mode with padding and truncation, and decode."""
import json

import pytest
from tokenizer_data import parity, reference
from tokenizer_data.corpus import corpus_by_category

from staticml.tokenizer import Tokenizer

NAMES = ["minilm", "gpt2_like", "llama_like", "t5_like"]


@pytest.mark.parametrize("name", NAMES)
def test_pure_python_matches_rust_on_the_whole_corpus(name):
    text, max_len = reference.files()[name]
    tok = Tokenizer.from_json(text, model_max_length=max_len, backend="python")
    got = parity.outputs(tok, list(reference.texts()), max_len)
    diffs = parity.differences(reference.rust_outputs(name), got, reference.texts())
    assert not diffs, f"{name}: pure-Python differs from Rust tokenizers:\n" + "\n".join(diffs)


def test_pack_round_trips_outputs():
    out = reference.rust_outputs("minilm")
    assert parity.unpack(parity.pack(out)) == out


def test_corpus_covers_what_issue_5_asks():
    cats = corpus_by_category()
    texts = reference.texts()
    assert len(texts) >= 5000 and "" in texts
    for name in ("english", "english_long", "cjk", "arabic", "hindi", "thai", "emoji", "combining", "control",
                 "whitespace", "whitespace_runs", "urls", "code", "numbers", "special_markup"):
        assert len(cats[name]) >= 60, name
    assert any("\u200d" in t for t in cats["emoji"]) and any("\u0301" in t for t in cats["combining"])
    # strings longer than the model's max length, so truncation is exercised on every file
    for name, (_, max_len) in reference.files().items():
        lengths = [len(ids) for ids in reference.rust_outputs(name)["ids"]]
        assert sum(n > max_len for n in lengths) >= 50, name


def test_repo_built_files_are_configured_like_their_families():
    spec = {name: json.loads(text) for name, (text, _) in reference.files().items()}
    assert spec["minilm"]["model"]["type"] == "WordPiece" and spec["minilm"]["normalizer"]["type"] == "BertNormalizer"
    assert spec["gpt2_like"]["model"]["type"] == "BPE" and spec["gpt2_like"]["pre_tokenizer"]["type"] == "ByteLevel"
    llama = spec["llama_like"]
    assert llama["model"]["byte_fallback"] and llama["pre_tokenizer"]["type"] == "Metaspace"
    assert all(f"<0x{b:02X}>" in llama["model"]["vocab"] for b in range(256))
    assert spec["t5_like"]["model"]["type"] == "Unigram"
    # byte fallback and unk fusing both happen on the corpus, so those paths are really compared
    rust = reference.rust_outputs("llama_like")["ids"]
    assert sum(any(3 <= i <= 258 for i in ids) for ids in rust) > 100
    unk = spec["t5_like"]["model"]["unk_id"]
    assert sum(unk in ids for ids in reference.rust_outputs("t5_like")["ids"]) > 100
