"""Behaviour checks of `staticml.tokenizer.Tokenizer`, run unchanged natively (Rust and pure-Python
backends) and inside Pyodide (the browser test sends this file's source in). Stdlib only.

Each check takes a context dict: Tokenizer, TokenizerError, backend, and the tokenizer.json texts
"minilm", "gpt2_like", "llama_like", "t5_like". Expected ids come from the files themselves.
"""
import json

LONG = "the quick brown fox jumps over the lazy dog " * 200


def _tok(ctx, name, **kw):
    return ctx["Tokenizer"].from_json(ctx[name], backend=ctx["backend"], **kw)


def _special_id(ctx, name, content):
    return next(t["id"] for t in json.loads(ctx[name])["added_tokens"] if t["content"] == content)


def _raises(ctx, fn, *words):
    try:
        fn()
    except ctx["TokenizerError"] as e:
        msg = str(e)
        assert all(w in msg for w in words), f"error message {msg!r} lacks {words}"
        return
    raise AssertionError(f"expected TokenizerError mentioning {words}")


def check_model_max_length_truncates_with_specials(ctx):
    tok = _tok(ctx, "minilm", model_max_length=256)
    e = tok.encode(LONG)
    assert len(e.ids) == 256, len(e.ids)
    assert e.ids[0] == _special_id(ctx, "minilm", "[CLS]") and e.ids[-1] == _special_id(ctx, "minilm", "[SEP]")
    assert e.attention_mask == [1] * 256 and e.token_type_ids == [0] * 256


def check_file_truncation_used_without_model_max_length(ctx):
    limit = json.loads(ctx["minilm"])["truncation"]["max_length"]  # 128 in all-MiniLM-L6-v2's file
    assert len(_tok(ctx, "minilm").encode(LONG).ids) == limit


def check_max_length_argument_wins_and_truncation_false_keeps_all(ctx):
    tok = _tok(ctx, "minilm", model_max_length=256)
    assert len(tok.encode(LONG, max_length=10).ids) == 10
    full = tok.encode(LONG, truncation=False)
    assert len(full.ids) == 1800 + 2, len(full.ids)  # 9 words x 200, one token each, plus [CLS] [SEP]


def check_batch_pads_to_longest_with_file_pad_id(ctx):
    spec = json.loads(ctx["minilm"])
    tok = _tok(ctx, "minilm", model_max_length=256)
    b = tok.encode_batch(["hello", "hello big wide world", ""])
    assert len(b) == 3 and {len(r) for r in b.ids} == {6}, b.ids
    assert b.attention_mask == [[1, 1, 1, 0, 0, 0], [1] * 6, [1, 1, 0, 0, 0, 0]], b.attention_mask
    assert b.ids[2][2:] == [spec["padding"]["pad_id"]] * 4 and b.token_type_ids[0] == [0] * 6
    assert b[1].ids == tok.encode("hello big wide world").ids


def check_padding_max_length_and_false(ctx):
    tok = _tok(ctx, "t5_like", model_max_length=16)
    b = tok.encode_batch(["a", LONG], padding="max_length")
    assert [len(r) for r in b.ids] == [16, 16] and sum(b.attention_mask[0]) == 2  # "▁a" + "</s>"
    b = tok.encode_batch(["a", LONG], padding=False)
    assert [len(r) for r in b.ids] == [2, 16]


def check_file_left_padding_left_truncation_and_multiple(ctx):
    spec = json.loads(ctx["minilm"])
    spec["padding"].update(direction="Left", pad_to_multiple_of=8)
    spec["truncation"].update(direction="Left", max_length=12)
    tok = ctx["Tokenizer"].from_json(json.dumps(spec), backend=ctx["backend"])
    b = tok.encode_batch(["hello", "one two three"])
    assert [len(r) for r in b.ids] == [8, 8], b.ids  # longest is 5, rounded up to 8
    assert b.attention_mask[0] == [0] * 5 + [1] * 3 and b.ids[0][5] == _special_id(ctx, "minilm", "[CLS]")
    words = " ".join(f"w{i}" for i in range(40))
    e = tok.encode("start " + words + " end")
    assert len(e.ids) == 12 and tok.decode(e.ids).endswith("end")  # left truncation keeps the end


def check_decode_round_trip_and_specials(ctx):
    tok = _tok(ctx, "minilm")
    ids = tok.encode("Hello, World!").ids
    assert tok.decode(ids) == "hello, world!"
    assert tok.decode(ids, skip_special_tokens=False) == "[CLS] hello, world! [SEP]"
    for name in ("gpt2_like", "llama_like"):  # byte-level and byte fallback lose nothing
        tok = _tok(ctx, name)
        text = "Tokenizers: ünïcödé, 東京 and 🤖 — exact."
        assert tok.decode(tok.encode(text).ids) == text, (name, tok.decode(tok.encode(text).ids))
    tok = _tok(ctx, "t5_like")  # Unigram without byte fallback: only text its vocab covers comes back
    assert tok.decode(tok.encode("the  model   reads text").ids) == "the model reads text"
    assert tok.decode_batch([[], tok.encode("x").ids]) == ["", "x"]


def check_special_token_text_is_one_token(ctx):
    tok = _tok(ctx, "gpt2_like")
    eot = _special_id(ctx, "gpt2_like", "<|endoftext|>")
    ids = tok.encode("a<|endoftext|>b").ids
    assert eot in ids and ids.count(eot) == 1 and tok.decode(ids) == "ab"
    assert tok.decode(ids, skip_special_tokens=False) == "a<|endoftext|>b"


def check_llama_byte_fallback_and_bos(ctx):
    tok = _tok(ctx, "llama_like")
    vocab = json.loads(ctx["llama_like"])["model"]["vocab"]
    ids = tok.encode("\U0001d11e").ids  # musical G clef: rare, so it falls back to its 4 UTF-8 bytes
    assert ids[0] == _special_id(ctx, "llama_like", "<s>")
    assert [vocab[f"<0x{b:02X}>"] for b in "\U0001d11e".encode()] == ids[-4:], ids


def check_empty_inputs(ctx):
    tok = _tok(ctx, "minilm")
    assert tok.encode("").ids == [_special_id(ctx, "minilm", "[CLS]"), _special_id(ctx, "minilm", "[SEP]")]
    assert len(tok.encode_batch([])) == 0
    assert _tok(ctx, "gpt2_like").encode("").ids == []


def check_bad_input_gets_clear_errors(ctx):
    tok = _tok(ctx, "minilm")
    _raises(ctx, lambda: tok.encode(None), "str")
    _raises(ctx, lambda: tok.encode_batch("one string"), "list of strings")
    _raises(ctx, lambda: tok.encode_batch(["ok", b"bytes"]), "text 1", "bytes")
    _raises(ctx, lambda: tok.encode("x", max_length=2), "no room", "special")
    _raises(ctx, lambda: tok.encode_batch(["x"], padding="bogus"), "padding")
    _raises(ctx, lambda: _tok(ctx, "gpt2_like").encode_batch(["x"], padding="max_length"), "max_length")
    _raises(ctx, lambda: tok.decode(["a"]), "int")
    _raises(ctx, lambda: ctx["Tokenizer"].from_json("{", backend=ctx["backend"]), "not a tokenizer.json")
    _raises(ctx, lambda: ctx["Tokenizer"].from_json('{"a": 1}', backend=ctx["backend"]), "model")


def check_unsupported_component_is_named(ctx):
    if ctx["backend"] != "python":
        return  # the Rust library implements every component; this is about the browser backend
    spec = json.loads(ctx["minilm"])
    spec["pre_tokenizer"] = {"type": "Digits", "individual_digits": True}
    _raises(ctx, lambda: ctx["Tokenizer"].from_json(json.dumps(spec), backend="python"), "Digits", "not supported")


CHECKS = {name: fn for name, fn in dict(globals()).items() if name.startswith("check_")}


def run_all(ctx) -> dict:
    """name -> "ok" or the failure, so one browser round trip reports every check."""
    results = {}
    for name, fn in CHECKS.items():
        try:
            fn(ctx)
            results[name] = "ok"
        except Exception as e:  # report, do not stop: the test asserts every entry is "ok"
            results[name] = f"{type(e).__name__}: {e}"
    return results
