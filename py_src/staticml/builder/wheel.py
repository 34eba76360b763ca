"""Build the `staticml` wheel with standard tooling (pip + the hatchling backend of pyproject.toml)."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import BuildError


def build_staticml_wheel(repo: Path, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "--disable-pip-version-check", "-q", "-w", tmp, str(repo)]
        # a fixed SOURCE_DATE_EPOCH makes the wheel (and so its content-hashed URL) reproducible
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
        if proc.returncode != 0:
            raise BuildError("building the staticml wheel failed (is hatchling installed? `make setup` installs it):\n"
                             + proc.stderr[-3000:])
        (wheel,) = Path(tmp).glob("staticml-*.whl")
        target = out_dir / wheel.name
        target.write_bytes(wheel.read_bytes())
        return target
