"""`build.py build`: what it writes, that the lockfile and hashes are true, and what it refuses."""
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from staticml.builder import headers
from staticml.builder.hashing import sha256_file
from staticml.builder.site import BuildOptions, build

REPO = Path(__file__).resolve().parents[2]
H12 = "[0-9a-f]{12}"

EXPECTED = [  # every file of a default build, as patterns over its path
    "404.html", "_headers", "index.html", "manifest.webmanifest", "pyodide-lock.json", "sw.js", "vercel.json",
    f"assets/app.{H12}.js", f"assets/gpu_glue.{H12}.js", f"assets/worker.{H12}.js", f"assets/style.{H12}.css",
    f"assets/icon-192.{H12}.png", f"assets/icon-512.{H12}.png",
    f"assets/model_loader.{H12}.js", f"assets/shard_store.{H12}.js", f"assets/cpu_glue.{H12}.js",
    f"assets/cpu_plan.{H12}.js", f"assets/sw_register.{H12}.js", *(f"assets/kernels-{v}.{H12}.wasm" for v in ("simd128", "relaxed", "simd128-threads",
                                                                            "relaxed-threads")),
    f"pyodide/{H12}/pyodide.mjs", f"pyodide/{H12}/pyodide.asm.mjs", f"pyodide/{H12}/pyodide.asm.wasm",
    f"pyodide/{H12}/python_stdlib.zip", f"wheels/{H12}/staticml-0.1.0-py3-none-any.whl",
]


def files_of(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_file_list(built_site):
    files = files_of(built_site)
    assert len(files) == len(EXPECTED)
    for pattern in EXPECTED:
        assert sum(bool(re.fullmatch(pattern, f)) for f in files) == 1, pattern


def test_content_hashed_names_match_their_bytes(built_site):
    for path in (built_site / "assets").iterdir():
        digest = re.search(r"\.([0-9a-f]{12})\.", path.name).group(1)
        if path.name.startswith("worker."):
            continue  # its name is the hash of its text after the glue's hashed name is written in (below)
        assert sha256_file(path).startswith(digest), path.name
    worker = next((built_site / "assets").glob("worker.*.js"))
    assert sha256_file(worker).startswith(worker.name.split(".")[1])
    glue = next((built_site / "assets").glob("gpu_glue.*.js")).name
    assert f'"./{glue}"' in worker.read_text()


def test_every_lockfile_sha256_matches_its_file(built_site):
    lock = json.loads((built_site / "pyodide-lock.json").read_text())
    core = json.loads((REPO / "node_modules/pyodide/pyodide-lock.json").read_text())
    assert lock["info"] == core["info"]
    assert set(lock["packages"]) == {"staticml"}
    for entry in lock["packages"].values():
        wheel = built_site / entry["file_name"]
        assert sha256_file(wheel) == entry["sha256"]
        assert entry["file_name"].split("/")[1] == entry["sha256"][:12]
        names = zipfile.ZipFile(wheel).namelist()
        assert "staticml/shaders/matmul.wgsl" in names and "staticml/worker_entry.py" in names
        assert not any(n.startswith("staticml/builder/") for n in names)  # native-only code stays out


def test_index_points_at_the_built_files(built_site):
    html = (built_site / "index.html").read_text()
    config = json.loads(re.search(r'id="staticml-config">(.*?)</script>', html).group(1))
    for key in ("worker", "lockfile", "serviceWorker"):
        assert (built_site / config[key]).is_file(), key
    assert sorted(config["cpuKernels"]) == ["relaxed", "relaxed-threads", "simd128", "simd128-threads"]
    for url in config["cpuKernels"].values():   # the CPU kernels: real wasm modules, precached like the rest
        assert (built_site / url).read_bytes()[:4] == b"\0asm", url
    assert (built_site / config["pyodideIndex"] / "pyodide.mjs").is_file()
    for ref in re.findall(r'(?:src|href)="\./([^"]+)"', html):
        assert (built_site / ref).is_file(), ref


def test_service_worker_precaches_the_whole_shell(built_site):
    shell = service_worker_shell(built_site)
    listed = {u.removeprefix("./") for u in shell["urls"]}
    must = {f for f in files_of(built_site) if f.startswith(("assets/", "pyodide/", "wheels/"))}
    assert must | {"", "index.html", "pyodide-lock.json", "manifest.webmanifest"} == listed
    assert shell["isolation"] == {}   # without --cross-origin-isolated the worker adds no COOP/COEP


def service_worker_shell(site) -> dict:
    return json.loads(re.match(r"self\.STATICML_PRECACHE = (.*);\n", (site / "sw.js").read_text()).group(1))


def test_manifest_icons_are_real_pngs(built_site):
    manifest = json.loads((built_site / "manifest.webmanifest").read_text())
    for icon in manifest["icons"]:
        data = (built_site / icon["src"]).read_bytes()
        size = int(icon["sizes"].split("x")[0])
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(data[16:20], "big") == size


def parse_cloudflare(text: str) -> dict:
    rules, current = {}, None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("  "):
            key, value = line.strip().split(": ", 1)
            rules[current][key] = value
        else:
            current = line.strip()
            rules[current] = {}
    return rules


def test_headers_files_carry_the_same_rules(built_site):
    cf = parse_cloudflare((built_site / "_headers").read_text())
    vercel = json.loads((built_site / "vercel.json").read_text())["headers"]
    assert len(cf) == len(vercel)
    for (pattern, hdrs), v in zip(cf.items(), vercel):
        assert v["source"] == pattern.replace(".", "\\.").replace("*", "(.*)")
        assert {h["key"]: h["value"] for h in v["headers"]} == hdrs
    # immutable caching only where names are content hashes; revalidation for HTML and sw.js
    immutable = {p for p, h in cf.items() if "immutable" in h.get("Cache-Control", "")}
    assert immutable == {"/assets/*", "/pyodide/*", "/wheels/*", "/models/*"}
    for path in ("/", "/index.html", "/sw.js", "/404.html"):
        assert cf[path]["Cache-Control"] == "no-cache"
    assert cf["/*.wasm"]["Content-Type"] == "application/wasm"
    assert "Cross-Origin-Embedder-Policy" not in (built_site / "_headers").read_text()


def test_cross_origin_isolation_is_opt_in(tmp_path):
    out = build(BuildOptions(out=tmp_path / "dist", cross_origin_isolated=True, log=lambda *_: None))
    cf = parse_cloudflare((out / "_headers").read_text())
    assert cf["/*"]["Cross-Origin-Opener-Policy"] == "same-origin"
    assert cf["/*"]["Cross-Origin-Embedder-Policy"] == "require-corp"
    # the service worker adds the same pair itself, for hosts that take no header rules (GitHub Pages)
    assert service_worker_shell(out)["isolation"] == {"Cross-Origin-Opener-Policy": "same-origin",
                                                      "Cross-Origin-Embedder-Policy": "require-corp"}


def test_build_is_reproducible(built_site, tmp_path):
    again = build(BuildOptions(out=tmp_path / "again", log=lambda *_: None))
    assert files_of(again) == files_of(built_site)
    for f in files_of(again):
        assert sha256_file(again / f) == sha256_file(built_site / f), f


def run_build_py(*args):
    return subprocess.run([sys.executable, str(REPO / "build.py"), *args], capture_output=True, text=True, timeout=300)


def test_a_file_over_25_mib_is_refused_and_nothing_is_written(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    with open(static / "huge.bin", "wb") as f:
        f.truncate(26 * 1024 * 1024)
    out = tmp_path / "dist"
    out.mkdir()
    (out / "previous.txt").write_text("the last good build")
    proc = run_build_py("build", "--no-demo", "--out", str(out), "--static", str(static))   # the demo is not what is tested
    assert proc.returncode == 2
    assert "refusing to emit files over 25 MiB" in proc.stderr and "huge.bin: 26.0 MiB" in proc.stderr
    assert files_of(out) == ["previous.txt"]  # the last good build is untouched
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dist-building-")]


def test_more_than_20000_files_are_refused(tmp_path):
    from staticml.builder.errors import BuildError
    from staticml.builder.limits import check_host_limits

    for i in range(20_001):
        (tmp_path / f"f{i}").touch()
    with pytest.raises(BuildError, match="refusing to emit 20001 files"):
        check_host_limits(tmp_path)


def test_missing_pyodide_says_to_run_npm_ci(tmp_path):
    from staticml.builder.errors import BuildError
    from staticml.builder.site import pyodide_core_dir

    with pytest.raises(BuildError, match=r"run `npm ci`.*apt-get install nodejs npm"):
        pyodide_core_dir(tmp_path)


def test_rules_table_matches_paths():
    table = headers.rules(False)
    assert headers.headers_for("/assets/app.0123456789ab.js", table)["Cache-Control"].endswith("immutable")
    assert headers.headers_for("/index.html", table)["Cache-Control"] == "no-cache"
    # `build --model` names every model file by its content (manifest.<sha12>.json, <sha256>.bin)
    assert headers.headers_for("/models/m/" + "0" * 64 + ".bin", table)["Cache-Control"].endswith("immutable")
    assert "Cache-Control" not in headers.headers_for("/data/x.bin", table)
