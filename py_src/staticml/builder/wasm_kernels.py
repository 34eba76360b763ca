"""Compile the CPU kernels (shaders/cpu/*.c) to WebAssembly with `ziglang` from PyPI.

Four variants, picked at load time by site/cpu_glue.js:
  kernels-simd128.wasm          plain SIMD128, unshared memory (any page)
  kernels-relaxed.wasm          + relaxed SIMD (FMA, int8 dot) where the browser validates it
  kernels-simd128-threads.wasm  shared memory + atomics: a pool of Web Workers (cross-origin isolated pages)
  kernels-relaxed-threads.wasm
Every variant imports its memory (`env.memory`) so the glue owns it, and exports `__stack_pointer`
so each pool worker can be given its own stack.
"""
import hashlib
import subprocess
import sys
from pathlib import Path

from .errors import BuildError

REPO = Path(__file__).resolve().parents[3]
CPU_SRC = REPO / "shaders" / "cpu"

VARIANTS = {
    "simd128": [],
    "relaxed": ["-mrelaxed-simd", "-DSM_RELAXED"],
    "simd128-threads": ["-matomics", "-mbulk-memory", "-DSM_THREADS"],
    "relaxed-threads": ["-mrelaxed-simd", "-DSM_RELAXED", "-matomics", "-mbulk-memory", "-DSM_THREADS"],
}
# The glue creates the memory: 4 MiB to start (stack + scratch), up to the 4 GiB wasm32 limit.
INITIAL_MEMORY = 4 * 1024 * 1024
MAX_MEMORY = 4 * 1024 * 1024 * 1024 - 65536
STACK = 256 * 1024

COMMON_FLAGS = ["--target=wasm32-freestanding", "-O3", "-msimd128", "-mnontrapping-fptoint", "-nostdlib",
                "-ffreestanding", "-fno-builtin", "-Wall", "-Werror", "-Wno-unused-function"]


def sources() -> list[Path]:
    return sorted(CPU_SRC.glob("*.c"))


def link_flags(threads: bool) -> list[str]:
    flags = ["-Wl,--no-entry", "-Wl,--import-memory", f"-Wl,--initial-memory={INITIAL_MEMORY}",
             f"-Wl,--max-memory={MAX_MEMORY}", f"-Wl,-z,stack-size={STACK}", "-Wl,--export=__stack_pointer",
             "-Wl,--export=__heap_base", "-Wl,--strip-all"]
    if threads:
        flags.append("-Wl,--shared-memory")
    return flags


def zig_cc() -> list[str]:
    try:
        import ziglang  # noqa: F401  (only to give a clear error when it is missing)
    except ImportError:
        raise BuildError("the CPU kernels need the `ziglang` package: pip install 'staticml[native]' "
                         "(or pip install ziglang)") from None
    return [sys.executable, "-m", "ziglang", "cc"]


def compile_variant(name: str, out: Path) -> Path:
    flags = VARIANTS[name]
    cmd = [*zig_cc(), *COMMON_FLAGS, *flags, *link_flags("-DSM_THREADS" in flags), "-o", str(out),
           *map(str, sources())]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"compiling the CPU kernels ({name}) failed:\n{done.stderr.strip()}")
    return out


def source_digest() -> str:
    """sha256 over the kernel sources and flags: equal digests give equal .wasm files."""
    h = hashlib.sha256()
    for f in sorted(CPU_SRC.glob("*.[ch]")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(repr((VARIANTS, COMMON_FLAGS, link_flags(True), INITIAL_MEMORY, MAX_MEMORY)).encode())
    return h.hexdigest()


def build_wasm(out_dir: Path, cache_dir: Path | None = None) -> list[Path]:
    """Write kernels-<variant>.wasm into out_dir and return their paths (plain names; site.py hashes them).

    With `cache_dir`, a build whose sources did not change is copied from there instead of recompiled.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = source_digest()[:16]
    paths = []
    for name in VARIANTS:
        target = out_dir / f"kernels-{name}.wasm"
        cached = Path(cache_dir) / digest / target.name if cache_dir else None
        if cached is not None and cached.is_file():
            target.write_bytes(cached.read_bytes())
        else:
            compile_variant(name, target)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(target.read_bytes())
        paths.append(target)
    return paths


if __name__ == "__main__":
    for p in build_wasm(Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "build" / "wasm")):
        print(p, p.stat().st_size)
