"""What static hosts reject, checked before anything is declared built.

Cloudflare Pages: at most 25 MiB per file and 20,000 files per deployment (its documented limits);
Vercel's static limits are looser, so these two bound both.
"""
from pathlib import Path

from .errors import BuildError

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_FILES = 20_000


def check_host_limits(root: Path) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    too_big = [(p, p.stat().st_size) for p in files if p.stat().st_size > MAX_FILE_BYTES]
    if too_big:
        lines = "\n".join(f"  {p.relative_to(root)}: {n / 2**20:.1f} MiB" for p, n in too_big)
        raise BuildError(f"refusing to emit files over 25 MiB (Cloudflare Pages rejects them):\n{lines}\n"
                         "Split large model files into shards (`build.py convert --shard-mib 16`) or host them elsewhere.")
    if len(files) > MAX_FILES:
        raise BuildError(f"refusing to emit {len(files)} files: static hosts accept at most {MAX_FILES} per site. "
                         "Bundle small files together.")
