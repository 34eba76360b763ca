"""`build.py build --app`: the files it writes, how it rewrites PyScript pages and configs, the hashes that
tie them together, and the clear errors for apps it cannot self-host."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from staticml import PYODIDE_VERSION
from staticml.builder.errors import BuildError
from staticml.builder.hashing import sha256_bytes, sha256_file
from staticml.builder.pyscript_app import write_app
from staticml.builder.pyscript_core import core_dist, needed_files
from staticml.builder.pyscript_html import start_tags
from staticml.builder.site import BuildOptions, build

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "pyscript-embed"
PYSCRIPT_DIST = REPO / "node_modules" / "@pyscript" / "core" / "dist"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build(BuildOptions(out=tmp_path_factory.mktemp("pys") / "dist", app_dir=EXAMPLE, log=lambda *_: None))


def py_scripts(html: str) -> list:
    return [t for t in start_tags(html) if t.name == "script" and t.get("type") == "py"]


def resolve(page: Path, url: str) -> Path:
    return (page.parent / url).resolve()


def precache(site: Path) -> list[str]:
    m = re.match(r"self\.STATICML_PRECACHE = (\{.*?\});\n", (site / "sw.js").read_text())
    return json.loads(m.group(1))["urls"]


def test_pyscript_core_is_pinned_and_installed_at_that_version():
    pinned = json.loads((REPO / "package.json").read_text())["dependencies"]["@pyscript/core"]
    locked = json.loads((REPO / "package-lock.json").read_text())["packages"]["node_modules/@pyscript/core"]["version"]
    installed = json.loads((PYSCRIPT_DIST.parent / "package.json").read_text())["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned) and pinned == locked == installed
    assert core_dist(REPO) == PYSCRIPT_DIST


def test_needed_files_are_everything_core_js_can_load_and_nothing_else():
    files = set(needed_files(PYSCRIPT_DIST))
    shipped_kinds = {p.name for p in PYSCRIPT_DIST.iterdir() if p.suffix in (".js", ".css")}
    # the two files left out are separate entry points (PyScript's own service worker, storage helper)
    assert shipped_kinds - files == {"service-worker.js", "storage.js"}
    assert {"core.js", "core.css", "xterm.css"} <= files and not any(f.endswith(".map") for f in files)


def test_example_page_loads_self_hosted_pyscript_and_nothing_external(site):
    page = site / "index.html"
    html = page.read_text()
    tags = start_tags(html)
    refs = [(t.name, t.get("src") or t.get("href")) for t in tags if t.get("src") or t.get("href")]
    assert refs and all(not re.match(r"^[a-z][a-z0-9+.-]*:|^//", u) or u == "data:," for _, u in refs), refs
    for _, url in refs:
        if url != "data:,":
            assert resolve(page, url).is_file(), url
    core_js = next(u for n, u in refs if n == "script" and u.endswith("/core.js"))
    folder = resolve(page, core_js).parent
    files = needed_files(PYSCRIPT_DIST)
    assert sorted(p.name for p in folder.iterdir()) == files
    for f in files:
        assert (folder / f).read_bytes() == (PYSCRIPT_DIST / f).read_bytes()
    digest = sha256_bytes("".join(f"{f} {sha256_file(PYSCRIPT_DIST / f)}\n" for f in files).encode())[:12]
    assert folder.name == f"pyscript.{digest}"
    # sw.js is a module worker, registered by the site's sw_register.js (the same asset app.js imports)
    (register,) = re.findall(r'import \{ registerServiceWorker \} from "([^"]+)"; registerServiceWorker\("sw\.js"\);', html)
    assert resolve(page, register).read_bytes() == (REPO / "site" / "sw_register.js").read_bytes()


def test_worker_config_points_at_the_sites_pyodide_lockfile_glue_and_app_files(site):
    page = site / "index.html"
    (script,) = py_scripts(page.read_text())
    assert script.has("worker") and script.get("name") == "staticml"
    assert resolve(page, script.get("src")).read_bytes() == (EXAMPLE / "worker.py").read_bytes()
    config = json.loads(script.get("config"))
    assert config["packages"] == ["staticml"] and config["packages_cache"] == "passthrough"
    assert config["name"] == "staticml sentence similarity"    # the author's own keys are kept
    for url, dest in config["files"].items():
        assert resolve(page, url).read_bytes() == (EXAMPLE / dest).read_bytes()
    assert sorted(config["files"].values()) == ["./similarity.py", "./worker.py"]

    interpreter = resolve(page, config["interpreter"])
    text = interpreter.read_text()
    assert interpreter.name == f"pyodide-pyscript.{sha256_bytes(text.encode())[:12]}.mjs"
    core = resolve(interpreter, re.search(r'from "(\.\./pyodide/[0-9a-f]{12}/pyodide\.mjs)"', text).group(1))
    assert core.read_bytes() == (REPO / "node_modules" / "pyodide" / "pyodide.mjs").read_bytes()
    assert f'"{PYODIDE_VERSION}"' in core.read_text()
    glue = resolve(interpreter, re.search(r'import \* as glue from "(\./gpu_glue\.[0-9a-f]{12}\.js)"', text).group(1))
    assert glue.read_bytes() == (REPO / "site" / "gpu_glue.js").read_bytes()
    assert 'new URL("../pyodide-lock.json", import.meta.url)' in text
    assert 'registerJsModule("staticml_glue", glue)' in text
    assert 'registerJsModule("staticml_models", models)' in text  # shipped models load in PyScript too


def test_lockfile_lists_the_shipped_wheel_with_its_sha256(site):
    lock = json.loads((site / "pyodide-lock.json").read_text())
    entry = lock["packages"]["staticml"]
    assert sha256_file(site / entry["file_name"]) == entry["sha256"]
    assert lock["info"] == json.loads((REPO / "node_modules" / "pyodide" / "pyodide-lock.json").read_text())["info"]


def test_app_files_are_copied_under_their_content_hash(site):
    (folder,) = [p for p in (site / "assets").iterdir() if p.is_dir() and p.name.startswith("app.")]
    names = ["pyscript.toml", "similarity.py", "style.css", "worker.py"]   # README.md is documentation, not app
    assert sorted(p.name for p in folder.iterdir()) == names
    digest = sha256_bytes("".join(f"{f} {sha256_file(EXAMPLE / f)}\n" for f in names).encode())[:12]
    assert folder.name == f"app.{digest}"


def test_service_worker_precaches_every_app_and_pyscript_file(site):
    urls = precache(site)
    for url in urls:
        assert url == "./" or (site / url).is_file(), url
    on_disk = {"./" + p.relative_to(site).as_posix() for p in (site / "assets").rglob("*") if p.is_file()}
    assert on_disk <= set(urls)
    assert {"./", "./index.html", "./pyodide-lock.json"} <= set(urls)
    assert any(u.endswith(".whl") for u in urls) and any(u.endswith("pyodide.asm.wasm") for u in urls)


def test_worker_scripts_turn_on_cross_origin_isolation(site):
    assert "Cross-Origin-Embedder-Policy: require-corp" in (site / "_headers").read_text()
    vercel = json.loads((site / "vercel.json").read_text())
    assert {"key": "Cross-Origin-Opener-Policy", "value": "same-origin"} in vercel["headers"][0]["headers"]


# --- write_app on small apps: rewriting rules and refusals (no wheel build needed) -------------------------

@pytest.fixture
def root(tmp_path) -> Path:
    """A site root as site.py leaves it before the app is written: the lockfile names what it ships."""
    out = tmp_path / "site"
    (out / "assets").mkdir(parents=True)
    (out / "pyodide-lock.json").write_text(json.dumps({"info": {}, "packages": {"staticml": {}, "tblib": {}}}))
    return out


def make_app(tmp_path: Path, files: dict[str, str]) -> Path:
    app = tmp_path / "app"
    for name, text in files.items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(text)
    return app


PAGE = "<!doctype html><html><head><title>t</title></head><body>{}</body></html>"


def test_page_in_a_subfolder_with_a_toml_config_file(tmp_path, root):
    app = make_app(tmp_path, {
        "sub/page.html": PAGE.format('<script type="py" src="../main.py" config="../conf/app.toml"></script>'),
        "main.py": "import helper\n", "helper.py": "X = 1\n", "data/words.txt": "a b c\n", "mod.js": "export const x = 1;\n",
        # relative URLs in a config file are relative to the config file
        "conf/app.toml": 'packages = ["tblib"]\n[files]\n"../data/words.txt" = "./words.txt"\n'
                         '[js_modules.main]\n"../mod.js" = "mod"\n',
    })
    result = write_app(app, root, repo=REPO, pyodide_digest="0" * 12, glue="assets/g.js", loader="assets/l.js", models=[], sw_register="./assets/r.js", log=lambda *_: None)
    assert result.pages == ["sub/page.html"] and not result.needs_cross_origin_isolation
    page = root / "sub" / "page.html"
    html = page.read_text()
    (script,) = py_scripts(html)
    assert resolve(page, script.get("src")).read_text() == "import helper\n"
    config = json.loads(script.get("config"))
    assert config["packages"] == ["staticml", "tblib"]
    assert config["interpreter"].startswith("../assets/pyodide-pyscript.")
    assert {dest: resolve(page, url).read_text() for url, dest in config["files"].items()} == {
        "./words.txt": "a b c\n", "./helper.py": "X = 1\n", "./main.py": "import helper\n"}
    ((url, name),) = config["js_modules"]["main"].items()
    assert name == "mod" and resolve(page, url).read_text() == "export const x = 1;\n"
    assert 'import { registerServiceWorker } from "../assets/r.js"; registerServiceWorker("../sw.js");' in html
    assert "./sub/page.html" in result.precache


def test_main_thread_scripts_share_one_config_and_authors_core_tags_are_replaced(tmp_path, root):
    app = make_app(tmp_path, {"index.html": PAGE.format(
        '<script type="module" src="./somewhere/pyscript/core.js"></script>'
        '<link rel="stylesheet" href="./somewhere/pyscript/core.css">'
        '<script type="py" config=\'{"packages": ["staticml"]}\'>print(1)</script><script type="py">print(2)</script>')})
    write_app(app, root, repo=REPO, pyodide_digest="0" * 12, glue="assets/g.js", loader="assets/l.js", models=[], sw_register="./assets/r.js", log=lambda *_: None)
    html = (root / "index.html").read_text()
    assert "somewhere" not in html
    a, b = py_scripts(html)
    assert a.get("config") == b.get("config") and json.loads(a.get("config"))["packages"] == ["staticml"]
    assert html.count("/core.js") == 1 and html.count("/core.css") == 1
    assert ">print(1)</script>" in html   # inline Python is left exactly as written


def test_python_created_workers_also_get_cross_origin_isolation(tmp_path, root):
    app = make_app(tmp_path, {"index.html": PAGE.format('<script type="py" src="./main.py"></script>'),
                              "main.py": "from pyscript import PyWorker\nPyWorker('./w.py')\n", "w.py": ""})
    assert write_app(app, root, repo=REPO, pyodide_digest="0" * 12, glue="assets/g.js", loader="assets/l.js", models=[], sw_register="./assets/r.js", log=lambda *_: None).needs_cross_origin_isolation


@pytest.mark.parametrize("files, message", [
    ({"index.html": PAGE.format('<script src="https://example.org/x.js"></script>')}, "another origin"),
    ({"index.html": PAGE.format('<script type="py" src="./missing.py"></script>')}, "not a file in the app folder"),
    ({"index.html": PAGE.format('<script type="py" src="/main.py"></script>'), "main.py": ""}, "root-relative"),
    ({"index.html": PAGE.format('<script type="mpy">print(1)</script>')}, 'type="mpy"> is not supported'),
    ({"index.html": PAGE.format('<py-config>packages = []</py-config>')}, "<py-config> is not supported"),
    ({"index.html": PAGE.format('<script type="py" config=\'{"packages": ["numpy"]}\'></script>')},
     "'numpy', which this site does not ship"),
    ({"index.html": PAGE.format('<script type="py" config=\'{"index_urls": ["x"]}\'></script>')}, "'index_urls'"),
    ({"index.html": PAGE.format('<script type="py" config="./c.toml"></script>'), "c.toml": "packages = [\n"},
     "not valid TOML"),
    ({"index.html": PAGE.format('<script type="py" config=\'{"a": 1}\'></script><script type="py" config=\'{"a": 2}\'>'
                                '</script>')}, "different configs"),
    ({"index.html": PAGE.format('<script type="py" worker="./w.py"></script>'), "w.py": ""}, "without a value"),
    ({"index.html": "<html><body><script type='py'></script></body></html>"}, "no <head>"),
    ({"main.py": ""}, "no .html page"),
    ({"index.html": PAGE.format('<script type="py" config=\'{"packages": "staticml"}\'></script>')},
     "`packages` must be a list"),
])
def test_apps_that_cannot_be_self_hosted_are_refused_with_a_reason(tmp_path, root, files, message):
    app = make_app(tmp_path, files)
    with pytest.raises(BuildError, match=re.escape(message)):
        write_app(app, root, repo=REPO, pyodide_digest="0" * 12, glue="assets/g.js", loader="assets/l.js", models=[], sw_register="./assets/r.js", log=lambda *_: None)


def test_cli_reports_a_missing_app_folder(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "build.py"), "build", "--out", str(tmp_path / "d"),
                           "--app", str(tmp_path / "nope")], capture_output=True, text=True)
    assert proc.returncode == 2 and "--app" in proc.stderr and "no such folder" in proc.stderr
    assert not (tmp_path / "d").exists()   # a failed build leaves nothing behind


def test_cli_help_mentions_app():
    out = subprocess.run([sys.executable, str(REPO / "build.py"), "build", "--help"], capture_output=True, text=True).stdout
    assert "--app FOLDER" in out
