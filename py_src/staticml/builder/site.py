"""`build.py build`: write the static site into dist/.

    dist/
      index.html 404.html sw.js manifest.webmanifest pyodide-lock.json   fixed names, revalidated
      _headers vercel.json                                                host configuration
      assets/<name>.<sha12>.<ext>                                         page script, worker, glue, css, icons,
                                                                          the CPU kernels (kernels-*.wasm)
      pyodide/<sha12>/                                                    the Pyodide core, hash of its files
      wheels/<sha12>/<wheel>                                              the app's wheels
      models/<model-id>/manifest.<sha12>.json, <sha256>.bin, ...           converted models (`--model`)

Everything is written to a temporary folder beside dist/ and moved into place only when complete,
so a failed build never leaves a half-written site behind.
"""
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import PYODIDE_VERSION, __version__
from . import headers, icons
from .errors import BuildError
from .hashing import hashed_name, sha256_bytes, sha256_file
from .limits import check_host_limits
from .lockfile import wheel_entry, write_lockfile
from .models import include_model
from .wasm_kernels import build_wasm
from .wheel import build_staticml_wheel

REPO = Path(__file__).resolve().parents[3]
PYODIDE_CORE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")


@dataclass
class BuildOptions:
    out: Path = REPO / "dist"
    static_dir: Path | None = None          # extra files copied as they are into the site root
    cross_origin_isolated: bool = False     # emit COOP/COEP (needed for SharedArrayBuffer threads)
    app_dir: Path | None = None             # a PyScript app whose pages the site serves (pyscript_app.py)
    models: list = field(default_factory=list)  # folders written by `build.py convert`
    demo_dtypes: tuple = ()                 # the semantic-search demo with MiniLM in these dtypes (demo.py)
    log: callable = print
    repo: Path = REPO
    extra: dict = field(default_factory=dict)


def pyodide_core_dir(repo: Path = REPO) -> Path:
    core = repo / "node_modules" / "pyodide"
    if not (core / "pyodide.mjs").is_file():
        raise BuildError(f"Pyodide {PYODIDE_VERSION} is not installed in {core}: run `npm ci` in {repo} "
                         "(needs node and npm: `apt-get install nodejs npm`), or `make setup`.")
    version = json.loads((core / "package.json").read_text())["version"]
    if version != PYODIDE_VERSION:
        raise BuildError(f"node_modules has pyodide {version}, staticml needs exactly {PYODIDE_VERSION}: run `npm ci`.")
    return core


def build(opts: BuildOptions) -> Path:
    core = pyodide_core_dir(opts.repo)
    out = opts.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-building-", dir=out.parent))
    try:
        _write_site(tmp, core, opts)
        check_host_limits(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    opts.log(f"built {out} ({sum(1 for p in out.rglob('*') if p.is_file())} files)")
    return out


def _write_site(root: Path, core: Path, opts: BuildOptions) -> None:
    site = opts.repo / "site"
    (root / "assets").mkdir()
    precache: list[str] = []

    def asset(name: str, data: bytes) -> str:
        rel = f"assets/{hashed_name(name, data)}"
        (root / rel).write_bytes(data)
        precache.append("./" + rel)
        return "./" + rel

    # Pyodide core under a folder named by the hash of its files (so it can be cached immutably).
    digest = sha256_bytes("".join(sha256_file(core / f) for f in PYODIDE_CORE_FILES).encode())[:12]
    pyodide_dir = root / "pyodide" / digest
    pyodide_dir.mkdir(parents=True)
    for f in PYODIDE_CORE_FILES:
        shutil.copyfile(core / f, pyodide_dir / f)
        precache.append(f"./pyodide/{digest}/{f}")
    opts.log(f"pyodide {PYODIDE_VERSION} core -> pyodide/{digest}/")

    # The app's wheels, each under the hash of its bytes, listed in the generated lockfile.
    with tempfile.TemporaryDirectory() as wheel_tmp:
        wheel = build_staticml_wheel(opts.repo, Path(wheel_tmp))
        rel = f"wheels/{sha256_file(wheel)[:12]}/{wheel.name}"
        (root / rel).parent.mkdir(parents=True)
        shutil.copyfile(wheel, root / rel)
        precache.append("./" + rel)
        entries = [wheel_entry(root / rel, rel)]
    write_lockfile(root / "pyodide-lock.json", core, entries)
    opts.log(f"staticml {__version__} wheel -> {rel}")

    # Models: shards live in IndexedDB (service_worker/sw.js), only their small manifests in the shell cache.
    models = [include_model(folder, root, opts.log) for folder in opts.models]
    demo = None
    if opts.demo_dtypes:
        from .demo import INDEX_ID, demo_folders

        shipped = [include_model(folder, root, opts.log) for folder in demo_folders(opts.demo_dtypes, opts.log)]
        models += shipped
        demo = {"index": INDEX_ID, "models": {m["dtype"]: m["id"] for m in shipped if m["id"] != INDEX_ID},
                "default_dtype": opts.demo_dtypes[0]}
    precache += [m["manifest"] for m in models]

    glue = asset("gpu_glue.js", (site / "gpu_glue.js").read_bytes())
    store = asset("shard_store.js", (site / "shard_store.js").read_bytes())
    cpu_glue = asset("cpu_glue.js", (site / "cpu_glue.js").read_bytes())
    sw_register = asset("sw_register.js", (site / "sw_register.js").read_bytes())

    def imports(src: str) -> str:  # the site's modules import each other by their content-hashed names
        return (src.replace('"./gpu_glue.js"', json.dumps("./" + Path(glue).name))
                   .replace('"./shard_store.js"', json.dumps("./" + Path(store).name))
                   .replace('"./cpu_glue.js"', json.dumps("./" + Path(cpu_glue).name))
                   .replace('"./sw_register.js"', json.dumps("./" + Path(sw_register).name)))

    # The CPU backend: the WebAssembly SIMD kernels (four builds; site/cpu_glue.js picks one at load).
    with tempfile.TemporaryDirectory() as wasm_tmp:
        cpu_kernels = {p.stem.removeprefix("kernels-"): asset(p.name, p.read_bytes())
                       for p in build_wasm(Path(wasm_tmp), cache_dir=opts.repo / "build" / "wasm-cache")}
    cpu_plan = asset("cpu_plan.js", imports((site / "cpu_plan.js").read_text()).encode())

    loader = asset("model_loader.js", imports((site / "model_loader.js").read_text()).encode())
    worker_src = (imports((site / "worker.js").read_text())
                  .replace('"./model_loader.js"', json.dumps("./" + Path(loader).name))
                  .replace('"./cpu_plan.js"', json.dumps("./" + Path(cpu_plan).name)))
    worker = asset("worker.js", worker_src.encode())
    app = asset("app.js", imports((site / "app.js").read_text()).encode())
    css = asset("style.css", (site / "style.css").read_bytes())
    icon_urls = {size: asset(f"icon-{size}.png", icons.icon_png(size)) for size in (192, 512)}

    config = {"worker": worker, "pyodideIndex": f"./pyodide/{digest}/", "lockfile": "./pyodide-lock.json",
              "packages": sorted(e["name"] for e in entries), "serviceWorker": "./sw.js",
              "staticml": __version__, "pyodide": PYODIDE_VERSION, "cpuKernels": cpu_kernels,
              "models": [{k: m[k] for k in ("id", "manifest", "dtype", "total_bytes")} for m in models],
              "demo": demo}
    html = (site / "index.html").read_text()
    html = (html.replace("{{STATICML_CONFIG}}", json.dumps(config).replace("</", "<\\/"))
                .replace('src="./app.js"', f'src="{app}"').replace('href="./style.css"', f'href="{css}"')
                .replace('href="./icons/icon-192.png"', f'href="{icon_urls[192]}"'))
    (root / "index.html").write_text(html)
    shutil.copyfile(site / "404.html", root / "404.html")
    if demo:  # the benchmark page: the same app, driven by bench.js (`build.py bench`, the GPU kit)
        from ..bench_inputs import as_json

        bench = asset("bench.js", (site / "bench.js").read_bytes())
        (root / "bench.html").write_text(html.replace("</body>", f'<script type="module" src="{bench}"></script>\n</body>'))
        (root / "bench-inputs.json").write_text(json.dumps(as_json(), indent=1) + "\n")
        precache += ["./bench.html", "./bench-inputs.json"]   # `build.py bench` times a warm start offline

    manifest = {"name": "staticml", "short_name": "staticml", "start_url": "./", "scope": "./",
                "display": "standalone", "background_color": "#181c30", "theme_color": "#181c30",
                "icons": [{"src": u, "sizes": f"{s}x{s}", "type": "image/png"} for s, u in icon_urls.items()]}
    (root / "manifest.webmanifest").write_text(json.dumps(manifest, indent=2) + "\n")

    if opts.static_dir:
        _copy_static(opts.static_dir, root)
    isolated = opts.cross_origin_isolated
    if opts.app_dir:
        from .pyscript_app import write_app

        pyscript = write_app(opts.app_dir, root, repo=opts.repo, pyodide_digest=digest, glue=glue, loader=loader,
                             models=config["models"], sw_register=sw_register, log=opts.log)
        precache += pyscript.precache
        isolated = isolated or pyscript.needs_cross_origin_isolation

    precache += ["./", "./index.html", "./pyodide-lock.json", "./manifest.webmanifest"]
    version = sha256_bytes("\n".join(sorted(f"{u} {sha256_file(root / u) if u != './' else ''}"
                                            for u in precache)).encode())[:16]
    shell = {"version": version, "urls": sorted(set(precache)),
             "models": [{"id": m["id"], "blobs": m["blobs"]} for m in models],
             "isolation": headers.isolation(isolated)}   # the worker adds COOP/COEP itself (hosts without header rules)
    sw_src = (opts.repo / "service_worker" / "sw.js").read_text().replace('"./shard_store.js"', json.dumps(store))
    sw = f"self.STATICML_PRECACHE = {json.dumps(shell)};\n" + sw_src
    (root / "sw.js").write_text(sw)

    table = headers.rules(isolated)
    (root / "_headers").write_text(headers.cloudflare_headers(table))
    (root / "vercel.json").write_text(headers.vercel_json(table))


def _copy_static(src: Path, root: Path) -> None:
    if not src.is_dir():
        raise BuildError(f"--static {src}: no such folder")
    for path in sorted(src.rglob("*")):
        if path.is_file():
            target = root / path.relative_to(src)
            if target.exists():
                raise BuildError(f"--static {path} would overwrite the generated {target.relative_to(root)}; rename it")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
