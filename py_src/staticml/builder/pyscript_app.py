"""`build.py build --app FOLDER`: a PyScript app (HTML pages with `<script type="py">`, main thread or
`worker`, a PyScript config in JSON or TOML, Python files) becomes the pages of the static site.

    <page>.html                     the app's pages at their own paths (an app index.html replaces the demo page)
    assets/app.<sha12>/…            every other file of the app folder, content-hashed as one folder
    assets/pyscript.<sha12>/…       @pyscript/core, self-hosted (pyscript_core.py)
    assets/pyodide-pyscript.<sha12>.mjs   PyScript's interpreter: the site's Pyodide + lockfile + GPU glue

In every page the build
- loads PyScript's core.js/core.css from the site (tags that load them from elsewhere are replaced),
- gives every `<script type="py">` its config inline (pyscript_config.py: self-hosted interpreter, staticml
  from the site's lockfile, the app's files), one shared config for the main-thread scripts as PyScript requires,
- points `src` and other local references at the hashed copies, and refuses anything on another origin,
- registers the site's service worker, which precaches everything this returns, so the app works offline.

Worker scripts get cross-origin isolation (COOP/COEP headers): PyScript's `window`/`document`/`sync` in a
worker block on a SharedArrayBuffer, which browsers only grant to isolated pages.
"""
import json
import posixpath
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import pyscript_config
from .errors import BuildError
from .hashing import sha256_bytes, sha256_file
from .pyscript_core import write_core, write_interpreter
from .pyscript_html import Tag, render, splice, start_tags, with_attr

SKIPPED_NAMES = {"README.md", "__pycache__"}        # documentation and caches are not part of the site
UNSUPPORTED_TAGS = {
    "py-config": "give the config to the scripts instead: <script type=\"py\" config=\"./pyscript.toml\">",
    "mpy-config": "MicroPython is not self-hosted; use <script type=\"py\">",
    "py-script": "use <script type=\"py\"> (PyScript's recommended form)",
    "mpy-script": "MicroPython is not self-hosted; use <script type=\"py\">",
    "py-repl": "use <script type=\"py\">",
}
# PyScript script types other than "py" (MicroPython, the editor, py-game) are not self-hosted.
UNSUPPORTED_SCRIPT_TYPES = {"mpy", "py-editor", "mpy-editor", "py-game", "pyodide", "micropython"}
# tag -> attribute that makes the browser fetch something
FETCHING = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src", "audio": "src",
            "track": "src", "embed": "src", "input": "src", "object": "data", "link": "href"}
FETCHING_LINK_RELS = {"stylesheet", "icon", "preload", "modulepreload", "manifest", "prefetch", "apple-touch-icon"}


@dataclass
class AppBuild:
    pages: list[str]                       # relative to the site root
    precache: list[str] = field(default_factory=list)   # "./…" URLs for the service worker
    needs_cross_origin_isolation: bool = False


def app_files(app_dir: Path) -> list[str]:
    """Relative POSIX paths of the app's files (dotfiles, caches and README.md left out)."""
    out = []
    for path in sorted(app_dir.rglob("*")):
        rel = path.relative_to(app_dir)
        if path.is_file() and not any(p.startswith(".") or p in SKIPPED_NAMES for p in rel.parts) \
                and path.suffix != ".pyc":
            out.append(rel.as_posix())
    return out


def write_app(app_dir: Path, root: Path, *, repo: Path, pyodide_digest: str, glue: str, loader: str,
              models: list, sw_register: str, log=print) -> AppBuild:
    """glue / loader / sw_register: the site's hashed GPU glue, model loader and service-worker registration
    (site/sw_register.js) assets; models: the page config's list."""
    app_dir = Path(app_dir).resolve()
    if not app_dir.is_dir():
        raise BuildError(f"--app {app_dir}: no such folder")
    files = app_files(app_dir)
    pages = [f for f in files if f.endswith(".html")]
    if not pages:
        raise BuildError(f"--app {app_dir}: no .html page in it; an app needs at least an index.html")

    # Every non-page file under one folder named by the hash of all of them (immutable caching).
    others = [f for f in files if not f.endswith(".html")]
    digest = sha256_bytes("".join(f"{f} {sha256_file(app_dir / f)}\n" for f in others).encode())[:12]
    folder = f"assets/app.{digest}"
    for f in others:
        (root / folder / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(app_dir / f, root / folder / f)

    core_folder, core_files = write_core(repo, root)
    interpreter = write_interpreter(root, pyodide_digest, glue, loader, models)
    shipped = set(json.loads((root / "pyodide-lock.json").read_text())["packages"])
    site = _Site(app_dir, folder, core_folder, interpreter, shipped, [f for f in others if f.endswith(".py")],
                 sw_register.removeprefix("./"))

    result = AppBuild(pages=pages)
    for page in pages:
        text, has_worker = site.rewrite_page(app_dir / page)
        (root / page).parent.mkdir(parents=True, exist_ok=True)
        (root / page).write_text(text, encoding="utf-8")
        result.needs_cross_origin_isolation |= has_worker
        result.precache.append("./" + page)
        if posixpath.basename(page) == "index.html" and page != "index.html":
            result.precache.append("./" + posixpath.dirname(page) + "/")
    # A Python-created worker (pyscript.PyWorker) needs the same isolation as a <script worker>.
    result.needs_cross_origin_isolation |= any("PyWorker(" in (app_dir / f).read_text(encoding="utf-8", errors="replace")
                                               for f in others if f.endswith(".py"))
    result.precache += ["./" + p for p in [*(f"{folder}/{f}" for f in others), *core_files, interpreter]]
    log(f"pyscript app {app_dir.name}: {len(pages)} page(s), {len(others)} file(s) -> {folder}/; "
        f"@pyscript/core -> {core_folder}/"
        + ("; worker scripts: cross-origin isolation on (COOP/COEP)" if result.needs_cross_origin_isolation else ""))
    return result


class _Site:
    """Knows where each app file lands in the site and rewrites one page at a time."""

    def __init__(self, app_dir, folder, core_folder, interpreter, shipped, python_files, sw_register):
        self.app_dir, self.folder, self.core_folder = app_dir, folder, core_folder
        self.interpreter, self.shipped, self.python_files = interpreter, shipped, python_files
        self.sw_register = sw_register

    def site_url_of(self, path: Path) -> str:
        return f"{self.folder}/{path.relative_to(self.app_dir).as_posix()}"

    def rewrite_page(self, page: Path) -> tuple[str, bool]:
        text = page.read_text(encoding="utf-8")
        name = page.relative_to(self.app_dir).as_posix()
        page_dir = posixpath.dirname(name) or "."

        def from_page(site_path: str) -> str:
            return pyscript_config.url_from_page(site_path, name)

        tags = start_tags(text)
        head = next((t for t in tags if t.name == "head"), None)
        if head is None:
            raise BuildError(f"{name}: no <head> element; the build adds PyScript's core.js and core.css there")

        edits: list[tuple[int, int, str]] = []
        py_scripts: list[Tag] = []
        for tag in tags:
            if tag.name in UNSUPPORTED_TAGS:
                raise BuildError(f"{name}: <{tag.name}> is not supported by `build.py build --app`: {UNSUPPORTED_TAGS[tag.name]}")
            if tag.name == "script" and tag.get("type") in UNSUPPORTED_SCRIPT_TYPES:
                raise BuildError(f"{name}: <script type=\"{tag.get('type')}\"> is not supported by `build.py build "
                                 "--app` (only Pyodide's <script type=\"py\"> is self-hosted)")
            if tag.name == "script" and tag.get("type") == "py":
                py_scripts.append(tag)
                continue
            if self._is_pyscript_core(tag, page):     # the author's own PyScript tags: the build adds self-hosted ones
                edits.append((tag.start, tag.close_end or tag.end, ""))
                continue
            attr = FETCHING.get(tag.name)
            if attr and tag.get(attr) and (tag.name != "link" or set((tag.get("rel") or "").lower().split()) & FETCHING_LINK_RELS):
                target = self._local(tag.get(attr), page, name, f"<{tag.name} {attr}>")
                edits.append((tag.start, tag.end, render(tag.name, with_attr(tag.attrs, attr, from_page(target)))))

        has_worker = any(t.has("worker") for t in py_scripts)
        edits += self._rewrite_py_scripts(py_scripts, page, name, from_page)

        # Without an icon link browsers request /favicon.ico (a 404 here, and a failed request offline).
        has_icon = any(t.name == "link" and "icon" in (t.get("rel") or "").lower().split() for t in tags)
        icon = "" if has_icon else '\n  <link rel="icon" href="data:,">'
        sw = posixpath.relpath("sw.js", page_dir)
        inject = (f'\n  <link rel="stylesheet" href="{from_page(self.core_folder + "/core.css")}">'
                  f'\n  <script type="module" src="{from_page(self.core_folder + "/core.js")}"></script>'
                  # the site's service worker precaches the app, so the second visit works offline, and on a
                  # host without header rules makes an isolated build's pages isolated (site/sw_register.js)
                  f'\n  <script type="module">import {{ registerServiceWorker }} from '
                  f'{json.dumps(from_page(self.sw_register))}; registerServiceWorker({json.dumps(sw)});</script>' + icon)
        close = re.compile(r"</head\s*>", re.I).search(text, head.end)   # after the author's <meta charset> etc.
        at = close.start() if close else head.end
        edits.append((at, at, inject + ("\n" if close else "")))
        return splice(text, edits), has_worker

    def _rewrite_py_scripts(self, scripts: list[Tag], page: Path, name: str, from_page) -> list:
        main_values = {t.get("config") for t in scripts if not t.has("worker") and t.get("config") is not None}
        if len(main_values) > 1:
            raise BuildError(f"{name}: main-thread <script type=\"py\"> tags carry different configs; PyScript allows "
                             "one config for the main thread (give workers their own config instead)")
        main_config = self._config(next(iter(main_values), None), page, name, "main thread")
        edits = []
        for tag in scripts:
            attrs = tag.attrs
            if tag.get("worker"):
                raise BuildError(f"{name}: write `worker` without a value and put the file in `src` "
                                 f"(<script type=\"py\" worker src=\"./main.py\">), as PyScript requires")
            config = self._config(tag.get("config"), page, name, "worker") if tag.has("worker") else main_config
            if tag.get("src") is not None:
                attrs = with_attr(attrs, "src", from_page(self._local(tag.get("src"), page, name, "<script type=\"py\" src>")))
            attrs = with_attr(attrs, "config", json.dumps(config, separators=(",", ":")))
            edits.append((tag.start, tag.end, render("script", attrs)))
        return edits

    def _config(self, value: str | None, page: Path, name: str, which: str) -> dict:
        config, base = pyscript_config.load(value, page, self.app_dir) if value else ({}, page.parent)
        return pyscript_config.rewrite(
            config, base=base, page=page, app_dir=self.app_dir, site_url_of=self.site_url_of,
            interpreter=self.interpreter, shipped=self.shipped, python_files=self.python_files,
            where=f"{name} ({which} config)")

    def _local(self, url: str, page: Path, name: str, what: str) -> str:
        """The site path of an app file a page refers to; refuses other origins and missing files."""
        if pyscript_config.is_external(url):
            raise BuildError(f"{name}: {what} {url!r} loads from another origin; put the file in the app folder "
                             "(the built site serves everything from its own origin and works offline)")
        if url.startswith("/"):
            raise BuildError(f"{name}: {what} {url!r} is root-relative; write it relative to the page "
                             "(the site may be served from a sub-path)")
        path = (page.parent / url.split("#", 1)[0].split("?", 1)[0]).resolve()
        if not path.is_relative_to(self.app_dir) or not path.is_file():
            raise BuildError(f"{name}: {what} {url!r} is not a file in the app folder {self.app_dir}")
        return self.site_url_of(path)

    def _is_pyscript_core(self, tag: Tag, page: Path) -> bool:
        """<script type=module src=…/core.js> or <link rel=stylesheet href=…/core.css> that is not an app file."""
        url = tag.get("src") if tag.name == "script" else tag.get("href") if tag.name == "link" else None
        if not url or posixpath.basename(url.split("?", 1)[0]) not in ("core.js", "core.css"):
            return False
        if not pyscript_config.is_external(url) and not url.startswith("/"):
            return not (page.parent / url.split("?", 1)[0]).is_file()
        return True
