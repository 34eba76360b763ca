"""The pure-Python backend: added tokens -> normalizer -> pre-tokenizer -> model -> truncation ->
post-processor -> padding, in the order Rust's `Tokenizer::encode` applies them."""
from ..errors import TokenizerError
from . import added_tokens, decoders, normalizers, post_processors, pre_tokenizers
from .bpe import BPE
from .unigram import Unigram
from .wordpiece import WordPiece

MODELS = {"WordPiece": WordPiece, "BPE": BPE, "Unigram": Unigram}


class PurePythonBackend:
    name = "python"
    has_offsets = False

    def __init__(self, spec: dict):
        model = spec.get("model") or {}
        kind = model.get("type")
        if kind is None and "merges" in model:
            kind = "BPE"  # older files omit the type of a BPE model
        if kind not in MODELS:
            raise TokenizerError(f"tokenizer.json model {kind!r} is not supported by staticml's browser tokenizer "
                                 f"(supported: {', '.join(MODELS)})")
        self.model = MODELS[kind](model)
        self.normalizer = normalizers.build(spec.get("normalizer"))
        self.pre_tokenizer = pre_tokenizers.build(spec.get("pre_tokenizer"))
        self.added = added_tokens.AddedTokens(spec.get("added_tokens") or [], self.normalizer)
        self.processor = post_processors.build(spec.get("post_processor"))
        self.decoder = decoders.build(spec.get("decoder"))

    def num_special_tokens(self) -> int:
        return self.processor.added

    def token_ids(self, text: str) -> list[int]:
        """Model ids of `text`, before truncation and special tokens."""
        ids: list[int] = []
        tokenize = self.model.tokenize
        for piece, tid, at_origin in self.added.split_and_normalize(text):
            if tid is not None:
                ids.append(tid)
                continue
            for word, _ in self.pre_tokenizer(piece, at_origin):
                if word:
                    ids.extend(tokenize(word))
        return ids

    def encode(self, text: str, add_special_tokens: bool, max_length: int | None, truncate_left: bool):
        """-> (ids, type ids) for one text, truncated so the special tokens still fit in max_length."""
        ids = self.token_ids(text)
        if max_length is not None:
            room = max_length - (self.processor.added if add_special_tokens else 0)
            if len(ids) > room:
                ids = ids[len(ids) - room:] if truncate_left else ids[:room]
        if add_special_tokens:
            return self.processor.process(ids)
        return ids, [0] * len(ids)

    def id_to_token(self, tid: int) -> str | None:
        tok = self.added.content_of.get(tid)
        return tok if tok is not None else self.model.id_to_token.get(tid)

    def decode(self, ids: list[int], skip_special_tokens: bool) -> str:
        tokens = []
        for tid in ids:
            if skip_special_tokens and tid in self.added.special_ids:
                continue
            tok = self.id_to_token(tid)
            if tok is not None:  # Rust skips ids it does not know
                tokens.append(tok)
        return self.decoder(tokens)
