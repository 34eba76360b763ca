"""Stage the benchmark site for the GPU device machine (issue 9). Run HERE, from the checkout whose code is
measured; see bench/h100/README.md for the whole sequence.

    python bench/h100/stage.py --dest /work/main/.gpu-stage [--dtypes f32,f16,q8] [--part-mib 60] [--ort f32]

The device tool carries at most 64 MiB per call, so the site is split:
  DEST/p1 .. DEST/pN   what does not change when code changes: the Pyodide core and every model shard,
                       each shard once (f16 and f32 share the embedding table's shards), <= part-mib each
  DEST/run/            what does: the rest of the site (pages, assets, wheel, manifests, sw.js), the list of
                       where each shard goes (links.txt), the scripts (device_run.sh, torch_cuda_reference.py)
                       and the model's config.json + tokenizer.json for the PyTorch reference
So after a code fix only DEST/run (under 1 MiB) needs to travel again.
The site is `build.py build --dtypes ...` plus bench-ops.html (the ops benchmark page, for its host_overhead
section); with --ort DTYPES also bench/ort_web.py's comparison (ort-compare.html and ort/: ONNX Runtime Web's
wasm and WebGPU builds, the ONNX models of those dtypes, which travel in the parts like shards; a file larger
than a part goes as chunks NAME.chunkNN that device_run.sh joins). The demo's search index is never searched
by the benchmark, but the page loads it: an index already in build/cache is reused even if the runtime's
sources changed since (embedding it again takes minutes and changes nothing measured).
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "py_src"))


def _reuse_cached_index():
    from staticml.builder import demo

    original = demo.demo_index
    cached = sorted(demo.CACHE.glob(f"{demo.INDEX_ID}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    cached = [p for p in cached if demo._ready(p)]

    def demo_index(log=print):
        if cached:
            log(f"reusing the cached search index {cached[0].name} (the benchmark never searches it)")
            return cached[0]
        return original(log)

    demo.demo_index = demo_index


def build_site(out: Path, dtypes: tuple, isolated: bool = False) -> Path:
    from staticml.bench.ops import PAGE
    from staticml.builder.site import BuildOptions, build

    _reuse_cached_index()
    static = out.parent / (out.name + "-static")
    shutil.rmtree(static, ignore_errors=True)
    static.mkdir(parents=True)
    (static / "bench-ops.html").write_text(PAGE)
    # isolated: COOP/COEP, which the kit's server does not send; the service worker adds them after one reload
    return build(BuildOptions(out=out, static_dir=static, demo_dtypes=dtypes, cross_origin_isolated=isolated))


def split(site: Path, dest: Path, part_mib: float) -> dict:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    stable, links, blobs = [], [], {}
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(site)
        if rel.parts[0] == "pyodide":
            stable.append((rel, path))
        elif (rel.parts[0] == "models" and path.suffix == ".bin") or (rel.parts[0] == "ort" and path.suffix in (".wasm", ".onnx")):
            links.append(rel.as_posix())
            blobs.setdefault(path.name, path)
        else:
            target = dest / "run" / "site" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    limit = part_mib * 2**20
    for name, path in sorted(blobs.items()):
        if path.stat().st_size <= limit:
            stable.append((Path("blobs") / name, path))
            continue
        # too big for one part: chunks of at most `limit` bytes, each its own item (device_run.sh cats them)
        chunks = dest / "chunks"
        chunks.mkdir(exist_ok=True)
        with path.open("rb") as f:
            for i, data in enumerate(iter(lambda: f.read(int(limit)), b"")):
                chunk = chunks / f"{name}.chunk{i:02d}"
                chunk.write_bytes(data)
                stable.append((Path("blobs") / chunk.name, chunk))
    # first fit, largest first (the Pyodide core's files stay together in the first part)
    core = [(rel, path) for rel, path in stable if rel.parts[0] == "pyodide"]
    items = [(sum(p.stat().st_size for _, p in core), core)] + sorted(
        ((path.stat().st_size, [(rel, path)]) for rel, path in stable if rel.parts[0] != "pyodide"),
        key=lambda item: -item[0])
    parts, sizes = [], []
    for n, files in items:
        for i, size in enumerate(sizes):
            if size + n <= limit:
                parts[i] += files
                sizes[i] += n
                break
        else:
            parts.append(list(files))
            sizes.append(n)
    for i, files in enumerate(parts, start=1):
        for rel, path in files:
            target = dest / f"p{i}" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    info = {"parts": len(parts), "part_mib": [round(size / 2**20, 1) for size in sizes]}
    shutil.rmtree(dest / "chunks", ignore_errors=True)
    (dest / "run" / "links.txt").write_text("\n".join(links) + "\n")
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dest", type=Path, required=True, help="a git-ignored folder of the checkout the device tool sends")
    ap.add_argument("--dtypes", default="f32,f16,q8")
    ap.add_argument("--part-mib", type=float, default=60.0)
    ap.add_argument("--isolated", action="store_true",
                    help="build with --cross-origin-isolated (the `cpu` variant's threads: the service worker isolates the page)")
    ap.add_argument("--site", type=Path, default=REPO / "build" / "h100-dist", help="where to build the site")
    ap.add_argument("--ort", default="", metavar="DTYPES",
                    help="add bench/ort_web.py's comparison page with ONNX models of these dtypes (e.g. f32)")
    a = ap.parse_args(argv)
    site = build_site(a.site, tuple(a.dtypes.split(",")), a.isolated)
    if a.ort:
        sys.path.insert(0, str(REPO / "bench"))
        import ort_web

        ort_web.add_comparison(site, [d for d in a.ort.split(",") if d], ("wasm", "webgpu"))
    info = split(site, a.dest, a.part_mib)
    run = a.dest / "run"
    for name in ("device_run.sh",):
        shutil.copyfile(REPO / "bench" / "h100" / name, run / name)
    shutil.copyfile(REPO / "bench" / "torch_cuda_reference.py", run / "torch_cuda_reference.py")
    from staticml.builder.models import model_cache

    folder = model_cache().default_model_folder()
    (run / "model").mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copyfile(folder / name, run / "model" / name)
    info["run_mib"] = round(sum(p.stat().st_size for p in run.rglob("*") if p.is_file()) / 2**20, 2)
    (run / "stage.json").write_text(json.dumps(info, indent=1) + "\n")
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
