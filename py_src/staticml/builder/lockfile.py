"""Generate the pyodide-lock.json that lists exactly the wheels this site ships, with their sha256.

Pyodide's `loadPackage` fetches `file_name` relative to the lockfile's folder and checks the sha256
as subresource integrity, so a wrong or stale wheel can never be installed.
"""
import json
import zipfile
from pathlib import Path, PurePosixPath

from .hashing import sha256_file


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def wheel_entry(wheel: Path, file_name: str, depends: list[str] | None = None) -> dict:
    """A lockfile package entry for a pure-Python wheel stored at `file_name` (relative to the lockfile)."""
    dist, version = wheel.name.split("-")[:2]
    with zipfile.ZipFile(wheel) as zf:
        tops = {PurePosixPath(n).parts[0] for n in zf.namelist()}
    imports = sorted(t.removesuffix(".py") for t in tops
                     if not t.endswith((".dist-info", ".data")) and (t.endswith(".py") or "." not in t))
    return {"name": _canonical(dist), "version": version, "file_name": file_name, "install_dir": "site",
            "sha256": sha256_file(wheel), "package_type": "package", "imports": imports,
            "depends": sorted(depends or []), "unvendored_tests": False, "shared_library": False}


def write_lockfile(path: Path, pyodide_core: Path, entries: list[dict]) -> None:
    """`info` comes from the Pyodide release itself (ABI, platform, Python version must match it)."""
    info = json.loads((pyodide_core / "pyodide-lock.json").read_text())["info"]
    lock = {"info": info, "packages": {e["name"]: e for e in sorted(entries, key=lambda e: e["name"])}}
    path.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n")
