"""Make the folder pytest-pyodide serves (`--dist-dir=build/test-dist`): the Pyodide core at its root,
a lockfile listing the staticml wheel (and tblib, for readable tracebacks, when present), and the GPU
glue, so `run_in_pyodide` tests can import staticml and drive WebGPU exactly as the worker does."""
import shutil
from pathlib import Path

from staticml.builder.lockfile import wheel_entry, write_lockfile
from staticml.builder.site import pyodide_core_dir
from staticml.builder.wheel import build_staticml_wheel

REPO = Path(__file__).resolve().parents[2]
EXTRA_WHEELS = REPO / ".cache" / "pyodide-wheels"   # filled by `make setup` (pure-Python wheels from PyPI)


def make_pyodide_dist(out: Path) -> Path:
    core = pyodide_core_dir(REPO)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for f in ("pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"):
        shutil.copyfile(core / f, out / f)
    wheels = [build_staticml_wheel(REPO, out)]
    for w in sorted(EXTRA_WHEELS.glob("*.whl")):
        wheels.append(Path(shutil.copyfile(w, out / w.name)))
    write_lockfile(out / "pyodide-lock.json", core, [wheel_entry(w, w.name) for w in wheels])
    shutil.copyfile(REPO / "site" / "gpu_glue.js", out / "gpu_glue.js")
    return out
