"""Self-host `@pyscript/core` (pinned in package.json / package-lock.json) and the interpreter module
PyScript pages load, so a PyScript page never fetches anything from another origin.

    assets/pyscript.<sha12>/core.js core.css core-*.js …   the files core.js can import, names kept
                                                           (its chunks import each other as "./x.js")
    assets/pyodide-pyscript.<sha12>.mjs                    the `interpreter` of every PyScript config

Why an interpreter module of our own instead of pointing `interpreter` straight at pyodide/<hash>/pyodide.mjs:
PyScript calls `loadPyodide({indexURL: <folder of the interpreter URL>})`, and Pyodide then reads
`<that folder>/pyodide-lock.json`. The core folder is named by the hash of the Pyodide release files, so it
cannot hold the site's generated lockfile (which changes with the staticml wheel). This module loads the
same self-hosted core, but with the site's `pyodide-lock.json` (staticml wheel + sha256, checked by
`loadPackage`), and registers the GPU glue as `staticml_glue` exactly as site/worker.js does, so
`from staticml.gpu.webgpu import WebGPUDevice` works in any PyScript interpreter, main thread or worker.
"""
import json
import re
import shutil
from pathlib import Path

from .errors import BuildError
from .hashing import hashed_name, sha256_bytes, sha256_file

PACKAGE = "@pyscript/core"
ROOTS = ("core.js", "core.css")      # what a page loads; everything else is reached from core.js
# "./name.js" / "./name.css" string literals: static imports, dynamic import()s and CSS PyScript injects
_RELATIVE_REF = re.compile(r"""["']\./([A-Za-z0-9_.-]+\.(?:js|css))["']""")


def pinned_version(repo: Path) -> str:
    """The exact version package.json pins (a range would let `npm install` drift)."""
    wanted = json.loads((repo / "package.json").read_text()).get("dependencies", {}).get(PACKAGE)
    if not wanted or not re.fullmatch(r"\d+\.\d+\.\d+", wanted):
        raise BuildError(f"package.json must pin {PACKAGE} to an exact version (e.g. \"0.7.31\"), found {wanted!r}")
    return wanted


def core_dist(repo: Path) -> Path:
    """node_modules/@pyscript/core/dist, checked against the version package.json pins."""
    wanted = pinned_version(repo)
    pkg = repo / "node_modules" / PACKAGE
    if not (pkg / "dist" / "core.js").is_file():
        raise BuildError(f"{PACKAGE} {wanted} is not installed in {pkg}: run `npm ci` in {repo} (or `make setup`).")
    have = json.loads((pkg / "package.json").read_text())["version"]
    if have != wanted:
        raise BuildError(f"node_modules has {PACKAGE} {have}, package.json pins {wanted}: run `npm ci`.")
    return pkg / "dist"


def needed_files(dist: Path) -> list[str]:
    """core.js, core.css and every file they can reach through "./x.js" references (no source maps,
    no sources, no types): the closure, so an app works offline whatever PyScript feature it uses."""
    seen, todo = set(), list(ROOTS)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if not (dist / name).is_file():
            raise BuildError(f"{PACKAGE}: {name} is referenced but missing from {dist}; reinstall with `npm ci`.")
        seen.add(name)
        if name.endswith(".js"):
            todo += [ref for ref in _RELATIVE_REF.findall((dist / name).read_text(encoding="utf-8"))
                     if (dist / ref).is_file()]
    return sorted(seen)


def write_core(repo: Path, root: Path) -> tuple[str, list[str]]:
    """Copy the needed files into assets/pyscript.<sha12>/; returns (folder relative to root, file paths)."""
    dist = core_dist(repo)
    files = needed_files(dist)
    digest = sha256_bytes("".join(f"{f} {sha256_file(dist / f)}\n" for f in files).encode())[:12]
    folder = f"assets/pyscript.{digest}"
    (root / folder).mkdir(parents=True)
    for f in files:
        shutil.copyfile(dist / f, root / folder / f)
    return folder, [f"{folder}/{f}" for f in files]


INTERPRETER_TEMPLATE = """\
// PyScript's `interpreter` on this site (written by build.py, see py_src/staticml/builder/pyscript_core.py):
// the site's own Pyodide core, loaded with the site's lockfile (staticml wheel + sha256), with staticml's GPU
// glue and model loader registered as the Python modules `staticml_glue` and `staticml_models`, as
// site/worker.js does.
import { loadPyodide as loadCore, version } from "../pyodide/__CORE__/pyodide.mjs";
import * as glue from "./__GLUE__";
import * as models from "./__LOADER__";

export { version };

// The site's models; manifest URLs made absolute here, since PyScript workers run from blob: URLs.
const SITE = new URL("../", import.meta.url);
const MODELS = __MODELS__.map((m) => ({ ...m, manifest: new URL(m.manifest, SITE).href }));

export async function loadPyodide(options = {}) {
  const pyodide = await loadCore({
    ...options,
    indexURL: new URL("../pyodide/__CORE__/", import.meta.url).href,
    lockFileURL: new URL("../pyodide-lock.json", import.meta.url).href,
  });
  models.configure(MODELS, () => {});
  pyodide.registerJsModule("staticml_glue", glue);
  pyodide.registerJsModule("staticml_models", models);
  return pyodide;
}
"""


def write_interpreter(root: Path, pyodide_digest: str, glue: str, loader: str, models: list) -> str:
    """Write the interpreter module under assets/ and return its path. `glue` and `loader` are the site's
    content-hashed assets (site.py wrote them); `models` the page config's model list."""
    text = (INTERPRETER_TEMPLATE.replace("__CORE__", pyodide_digest).replace("__GLUE__", Path(glue).name)
            .replace("__LOADER__", Path(loader).name).replace("__MODELS__", json.dumps(models)))
    module = f"assets/{hashed_name('pyodide-pyscript.mjs', text.encode())}"
    (root / module).write_text(text)
    return module
