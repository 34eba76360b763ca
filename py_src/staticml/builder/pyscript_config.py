"""Read a PyScript config (JSON or TOML, a file or inline text) and rewrite it for the static site.

What the rewritten config says (every URL relative to the page that carries it, because the build inlines
the config into the page's `config` attribute, and PyScript resolves an inline config's URLs against the page):
- `interpreter`: the site's own Pyodide (assets/pyodide-pyscript.<sha12>.mjs, see pyscript_core.py);
- `packages`: "staticml" (always) plus any other package the site's pyodide-lock.json ships, by name;
  `packages_cache = "passthrough"` makes PyScript hand them to Pyodide's `loadPackage` (which checks each
  wheel's sha256 against the lockfile) instead of micropip, which would need a package index;
- `files`: the app's own files, pointed at their content-hashed copies; every .py file of the app folder
  is added, so `import helper` works in the interpreter's working folder;
- `js_modules`: the app's own JS modules, pointed at their copies.
Anything that would make PyScript fetch from another origin is refused with a message.
"""
import json
import posixpath
import re
import tomllib
from pathlib import Path

from .errors import BuildError

_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")   # http:, https:, data:, blob:, //host …
_CONFIG_FILE = re.compile(r"\.(json|toml)(?:\?\S*)?$")
# Keys that only make sense with a package index or another interpreter: refused, with a reason.
_REFUSED = {
    "index_urls": "it makes micropip download packages from an index",
    "fetch": "list the files under `files` instead (the build self-hosts and precaches them)",
}


def is_external(url: str) -> bool:
    return bool(_EXTERNAL.match(url.strip()))


def url_from_page(site_path: str, page: str) -> str:
    """The relative URL of a site path as seen from a page (both relative to the site root)."""
    rel = posixpath.relpath(site_path, posixpath.dirname(page) or ".")
    return rel if rel.startswith("../") else "./" + rel


def load(value: str, page: Path, app_dir: Path) -> tuple[dict, Path]:
    """Parse a `config` attribute: a .json/.toml path (relative to the page) or inline JSON/TOML.
    Returns (config, folder its relative URLs are relative to)."""
    text = value.strip()
    if _CONFIG_FILE.search(text) and not text.startswith("{"):
        if is_external(text):
            raise BuildError(f"{page.name}: config {text!r} is on another origin; put the config file in the app folder")
        path = (page.parent / text.split("?", 1)[0]).resolve()
        if not path.is_relative_to(app_dir) or not path.is_file():
            raise BuildError(f"{page.name}: config file {text!r} not found in the app folder {app_dir}")
        return _parse(path.read_text(encoding="utf-8"), path.suffix == ".json", str(path)), path.parent
    return _parse(text, text.startswith("{"), f"{page.name} (inline config)"), page.parent


def _parse(text: str, is_json: bool, where: str) -> dict:
    try:
        config = json.loads(text) if is_json else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise BuildError(f"{where}: not valid {'JSON' if is_json else 'TOML'}: {e}") from None
    if not isinstance(config, dict):
        raise BuildError(f"{where}: a PyScript config must be an object/table at its top level")
    return config


def rewrite(config: dict, *, base: Path, page: Path, app_dir: Path, site_url_of, interpreter: str,
            shipped: set[str], python_files: list[str], where: str) -> dict:
    """The config the built page carries. `site_url_of(app_file) -> path relative to the site root` maps
    an app file to its hashed copy; `interpreter` is relative to the site root."""
    def from_page(site_path: str) -> str:
        return url_from_page(site_path, page.relative_to(app_dir).as_posix())

    def local(url: str, what: str) -> Path:
        if is_external(url):
            raise BuildError(f"{where}: {what} {url!r} is on another origin; put the file in the app folder "
                             "(the built site serves everything from its own origin)")
        path = (base / url.split("?", 1)[0]).resolve()
        if not path.is_relative_to(app_dir) or not path.is_file():
            raise BuildError(f"{where}: {what} {url!r} is not a file in the app folder {app_dir}")
        return path

    out = dict(config)
    for key, why in _REFUSED.items():
        if key in out:
            raise BuildError(f"{where}: the config key {key!r} is not supported by `build.py build --app`: {why}")
    if out.get("type", "py") not in ("py", "pyodide"):
        raise BuildError(f"{where}: only Pyodide (`<script type=\"py\">`) is self-hosted; MicroPython is not")

    for key, kind in (("packages", list), ("files", dict), ("js_modules", dict)):
        if key in out and not isinstance(out[key], kind):
            raise BuildError(f"{where}: `{key}` must be a {'list' if kind is list else 'table/object'}, "
                             f"got {type(out[key]).__name__}")
    packages = ["staticml"]
    for spec in out.get("packages", []):
        name = re.split(r"[<>=!~\[ ;]", str(spec), maxsplit=1)[0].strip().lower().replace("_", "-")
        if name not in shipped:
            raise BuildError(f"{where}: packages lists {spec!r}, which this site does not ship. Available: "
                             f"{', '.join(sorted(shipped))} (from the generated pyodide-lock.json). Put pure-Python "
                             "code into the app folder instead (its .py files are added to `files`).")
        if name not in packages:
            packages.append(name)
    out["packages"] = packages
    out["packages_cache"] = "passthrough"   # Pyodide's loadPackage + our lockfile, never micropip
    out["interpreter"] = from_page(interpreter)

    files, mapped = {}, set()
    for url, dest in (out.get("files") or {}).items():
        if "{" in url:
            raise BuildError(f"{where}: `files` templates ({url!r}) are not supported by `build.py build --app`; "
                             "list each file by its path")
        path = local(url, "files entry")
        mapped.add(path)
        files[from_page(site_url_of(path))] = dest
    for rel in python_files:   # every .py of the app, at its place relative to the app folder
        path = (app_dir / rel).resolve()
        if path not in mapped:
            files[from_page(site_url_of(path))] = "./" + rel
    out["files"] = files

    if "js_modules" in out:
        modules = {}
        for side, table in out["js_modules"].items():
            if side not in ("main", "worker") or not isinstance(table, dict):
                raise BuildError(f"{where}: `js_modules` holds tables named main and worker, got {side!r}")
            modules[side] = {from_page(site_url_of(local(url, f"js_modules.{side} entry"))): name
                             for url, name in table.items()}
        out["js_modules"] = modules
    return out
