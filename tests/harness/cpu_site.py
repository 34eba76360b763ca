"""The CPU kernels in a folder that pytest-pyodide's page serves: the four .wasm builds, cpu_glue.js and
cpu_plan.js, as build.py ships them (but under plain names)."""
import json
import shutil
from pathlib import Path

from staticml.builder.wasm_kernels import build_wasm

REPO = Path(__file__).resolve().parents[2]


def install_cpu_kernels(dist: Path) -> str:
    """Puts the CPU kernels and their JS into a served folder; returns the wasm URLs (relative) as JSON."""
    paths = build_wasm(dist / "cpu", cache_dir=REPO / "build" / "wasm-cache")
    for js in ("cpu_glue.js", "cpu_plan.js"):
        shutil.copyfile(REPO / "site" / js, dist / js)
    return json.dumps({p.stem.removeprefix("kernels-"): f"./cpu/{p.name}" for p in paths})
