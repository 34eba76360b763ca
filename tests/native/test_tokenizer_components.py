"""Components the browser backend supports that none of the four tokenizer files uses, swapped into
those files and compared with Rust on a slice of the corpus (ids, type ids and decode)."""
import json

import pytest
from tokenizer_data import reference

from staticml.tokenizer import Tokenizer

SLICE = slice(0, 5654, 7)  # ~800 strings spread over every category

VARIANTS = {
    "bert_processing": ("minilm", {"post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 102],
                                                       "cls": ["[CLS]", 101]}}),
    "roberta_processing": ("gpt2_like", {"post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", 0],
                                                             "cls": ["<|endoftext|>", 0], "trim_offsets": True,
                                                             "add_prefix_space": False}}),
    "sequence_processing": ("gpt2_like", {"post_processor": {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}},
                                                  {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [0], "tokens": ["<|endoftext|>"]}}}]}}),
    "byte_level_prefix_space": ("gpt2_like", {"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True,
                                                                 "trim_offsets": True, "use_regex": True}}),
    "normalizer_sequence": ("gpt2_like", {"normalizer": {"type": "Sequence", "normalizers": [
        {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": True,
                                                                           "strip_right": True},
        {"type": "Prepend", "prepend": "X"}, {"type": "Replace", "pattern": {"String": "x"}, "content": "yy"}]}}),
    "nfc_nfkd": ("t5_like", {"normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "NFC"}]}}),
    "cased_bert": ("minilm", {"normalizer": {"type": "BertNormalizer", "clean_text": True,
                                             "handle_chinese_chars": False, "strip_accents": False,
                                             "lowercase": False}}),
    "metaspace_never_split": ("llama_like", {"pre_tokenizer": {"type": "Metaspace", "replacement": "▁",
                                                               "prepend_scheme": "never", "split": True},
                                             "decoder": {"type": "Metaspace", "replacement": "▁",
                                                         "prepend_scheme": "never", "split": True}}),
    "metaspace_always_legacy": ("t5_like", {"pre_tokenizer": {"type": "Metaspace", "replacement": "▁",
                                                              "add_prefix_space": True}}),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_swapped_in_component_matches_rust(variant):
    name, change = VARIANTS[variant]
    text, max_len = reference.files()[name]
    spec = json.loads(text)
    spec.update(change)
    text = json.dumps(spec)
    rust = Tokenizer.from_json(text, model_max_length=max_len, backend="rust")
    py = Tokenizer.from_json(text, model_max_length=max_len, backend="python")
    for s in reference.texts()[SLICE]:
        want, got = rust.encode(s, truncation=False), py.encode(s, truncation=False)
        assert (got.ids, got.token_type_ids) == (want.ids, want.token_type_ids), f"{variant}: differs for {s!r}"
        for skip in (True, False):
            assert py.decode(got.ids, skip) == rust.decode(want.ids, skip), f"{variant}: decode differs for {s!r}"


def test_bert_pre_tokenizer_ascii_path_equals_the_per_character_definition():
    """BertPreTokenizer's regex path for ASCII text (built from the same character tables) splits exactly as
    the per-character loop: every ASCII char alone and in pairs, and 20,000 random ASCII strings heavy in
    whitespace, punctuation and control characters, with the word-at-offset-0 flag both ways."""
    import random

    from staticml.tokenizer.pure.pre_tokenizers import bert_split, bert_split_chars

    chars = [chr(c) for c in range(128)]
    texts = chars + [a + b for a in chars for b in chars]
    rng = random.Random(7)
    pool = chars + list(" \t\n\r\x0b\x0c.,!?-'\"()[]{}") * 4 + list("abcXYZ019") * 6
    texts += ["".join(rng.choice(pool) for _ in range(rng.randrange(0, 40))) for _ in range(20000)]
    for text in texts:
        for at_origin in (True, False):
            assert bert_split(text, at_origin) == bert_split_chars(text, at_origin), (text, at_origin)
