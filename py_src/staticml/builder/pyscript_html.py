"""Find and rewrite start tags in an HTML page without re-serialising the rest of it.

The stdlib parser reports each start tag with its position and its exact text; edits replace those
exact character ranges, so everything else in the page (inline code, comments, whitespace) stays as written.
Script contents are raw text to the parser, so Python inside `<script type="py">` is never touched.
"""
import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class Tag:
    name: str
    attrs: list[tuple[str, str | None]]
    start: int          # character offset of "<" in the page
    end: int            # offset just after the start tag's ">"
    close_end: int | None = None   # for <script>: offset just after its "</script>"

    def get(self, key: str) -> str | None:
        for k, v in self.attrs:
            if k == key:
                return v if v is not None else ""
        return None

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self.attrs)


class _Collector(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.tags: list[Tag] = []

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):
        start = self._offset()
        raw = self.get_starttag_text()
        assert self.text.startswith(raw, start), "parser position out of step with the page text"
        self.tags.append(Tag(tag, attrs, start, start + len(raw)))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            opened = next((t for t in reversed(self.tags) if t.name == "script" and t.close_end is None), None)
            if opened is not None:
                m = re.compile(r"</script\s*>", re.I).match(self.text, self._offset())
                opened.close_end = m.end() if m else self._offset() + len("</script>")


def start_tags(text: str) -> list[Tag]:
    parser = _Collector(text)
    parser.feed(text)
    parser.close()
    return parser.tags


def render(name: str, attrs: list[tuple[str, str | None]]) -> str:
    """A start tag; attribute values are escaped, so any text (e.g. inline JSON) round-trips."""
    parts = [name] + [k if v is None else f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs]
    return "<" + " ".join(parts) + ">"


def with_attr(attrs: list[tuple[str, str | None]], key: str, value: str) -> list[tuple[str, str | None]]:
    """attrs with `key` set to `value` (in place if present, else appended)."""
    if any(k == key for k, _ in attrs):
        return [(k, value if k == key else v) for k, v in attrs]
    return [*attrs, (key, value)]


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace [start, end) ranges (non-overlapping) with new text."""
    out, pos = [], 0
    for start, end, new in sorted(edits):
        if start < pos:
            raise ValueError("overlapping HTML edits")
        out += [text[pos:start], new]
        pos = end
    return "".join(out) + text[pos:]
