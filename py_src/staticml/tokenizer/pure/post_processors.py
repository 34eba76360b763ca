"""tokenizer.json `post_processor`: adds the special tokens ([CLS] .. [SEP], <s> .., .. </s>) and type ids."""
from typing import Callable

from ..errors import TokenizerError

# ids -> (ids with special tokens, type ids); `added` is how many tokens it adds to a single sequence
PostProcessor = Callable[[list[int]], tuple[list[int], list[int]]]


class Processor:
    def __init__(self, process: PostProcessor, added: int):
        self.process, self.added = process, added


def _template(spec: dict) -> Processor:
    special = {name: tok["ids"] for name, tok in spec.get("special_tokens", {}).items()}
    parts: list[tuple[list[int] | None, int]] = []  # (ids, type id); None = the sequence itself
    for item in spec["single"]:
        if "SpecialToken" in item:
            name = item["SpecialToken"]["id"]
            if name not in special:
                raise TokenizerError(f"TemplateProcessing uses special token {name!r} missing from special_tokens")
            parts.append((special[name], item["SpecialToken"]["type_id"]))
        else:
            parts.append((None, item["Sequence"]["type_id"]))

    def process(ids: list[int]) -> tuple[list[int], list[int]]:
        out, types = [], []
        for part, type_id in parts:
            chunk = ids if part is None else part
            out.extend(chunk)
            types.extend([type_id] * len(chunk))
        return out, types

    return Processor(process, sum(len(p) for p, _ in parts if p is not None))


def _wrap(spec: dict) -> Processor:
    """BertProcessing / RobertaProcessing for one sequence: cls ids sep."""
    cls_id, sep_id = spec["cls"][1], spec["sep"][1]
    return Processor(lambda ids: ([cls_id, *ids, sep_id], [0] * (len(ids) + 2)), 2)


def _none() -> Processor:
    return Processor(lambda ids: (list(ids), [0] * len(ids)), 0)


def _sequence(spec: dict) -> Processor:
    steps = [build(s) for s in spec["processors"]]

    def process(ids: list[int]) -> tuple[list[int], list[int]]:
        types = [0] * len(ids)
        for step in steps:
            if step.added:  # a step that adds tokens restarts the type ids; ByteLevel (added 0) keeps them
                ids, types = step.process(ids)
        return ids, types

    return Processor(process, sum(s.added for s in steps))


def build(spec: dict | None) -> Processor:
    if spec is None:
        return _none()
    kind = spec.get("type")
    if kind == "TemplateProcessing":
        return _template(spec)
    if kind in ("BertProcessing", "RobertaProcessing"):
        return _wrap(spec)
    if kind == "ByteLevel":  # only trims offsets, which this backend does not report
        return _none()
    if kind == "Sequence":
        return _sequence(spec)
    raise TokenizerError(f"tokenizer.json post_processor {kind!r} is not supported by staticml's browser "
                         "tokenizer (supported: TemplateProcessing, BertProcessing, RobertaProcessing, "
                         "ByteLevel, Sequence)")
