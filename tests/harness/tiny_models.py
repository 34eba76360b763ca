"""Tiny Hugging Face model folders for fast converter and cache tests: a randomly initialised
`transformers` BertModel of a small config, saved with `save_pretrained` (safetensors), plus a real
WordPiece tokenizer.json built with `tokenizers`. Deterministic for a given seed."""
from pathlib import Path

TINY_CONFIG = dict(vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=128, max_position_embeddings=64, type_vocab_size=2)


def write_tiny_bert(folder: Path, seed: int = 0, max_shard_size: str | None = None, torch_dtype=None,
                    **config_overrides) -> Path:
    """Write config.json, model.safetensors (or shards + index when max_shard_size is given),
    tokenizer.json and a sentence-transformers pooling config into `folder`; `torch_dtype` (e.g.
    torch.bfloat16) stores the weights in that dtype."""
    import json

    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    model = BertModel(BertConfig(**{**TINY_CONFIG, **config_overrides})).eval()
    if torch_dtype is not None:
        model = model.to(torch_dtype)
    kwargs = {"safe_serialization": True}
    if max_shard_size:
        kwargs["max_shard_size"] = max_shard_size
    model.save_pretrained(folder, **kwargs)
    _write_tokenizer(folder, model.config.vocab_size)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": model.config.hidden_size, "pooling_mode_mean_tokens": True}))
    return folder


def _write_tokenizer(folder: Path, vocab_size: int) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    words = specials + letters + ["##" + c for c in letters]
    words += [f"w{i}" for i in range(vocab_size - len(words))]
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.save(str(folder / "tokenizer.json"))
