"""Beyond the fixed corpus: Hypothesis-generated strings (any scalar value, plus the characters the
tokenizers treat specially) through the pure-Python backend and Rust must give the same ids and decode.
Derandomized, so CI runs the same examples every time."""
import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizer_data import reference

from staticml.tokenizer import Tokenizer

NAMES = ["minilm", "gpt2_like", "llama_like", "t5_like"]
# characters where tokenizers differ most: spaces of all kinds, apostrophes, marks, ZWJ/BOM, CJK, specials
TRICKY = list(" \t\n\r\u00a0\u3000\u2009'’`\u0301\u0308\u093f\u200b\u200d\ufeff\x00\x85▁#的語ｱ😀🏽")
TEXT = st.lists(st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(TRICKY),
                          st.sampled_from(["[CLS]", "<s>", "</s>", "<|endoftext|>", "<unk>", "'ll", "##", " "])),
                max_size=40).map("".join)


@functools.lru_cache(maxsize=None)
def _pair(name):
    text, max_len = reference.files()[name]
    return (Tokenizer.from_json(text, model_max_length=max_len, backend="rust"),
            Tokenizer.from_json(text, model_max_length=max_len, backend="python"))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
          database=None)
@given(text=TEXT)
def test_random_text_matches_rust(name, text):
    rust, py = _pair(name)
    want, got = rust.encode(text, truncation=False), py.encode(text, truncation=False)
    assert got.ids == want.ids, f"{name}: ids differ for {text!r}"
    assert py.decode(got.ids, skip_special_tokens=False) == rust.decode(want.ids, skip_special_tokens=False), text
