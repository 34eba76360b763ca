"""bench/isa_ceiling.py's micro-kernels compute what they claim to (the bench's ceilings are only worth
anything if each mix does the work it is counted for): every mix's sums against the program's scalar
reference, and the JSON and table the script prints. Timings are not asserted."""
import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _has_avx2() -> bool:
    try:
        flags = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return platform.machine() == "x86_64" and {"avx2", "fma"} <= set(flags)


@pytest.mark.skipif(not _has_avx2(), reason="the mixes are x86-64 AVX2/FMA instructions")
def test_every_mix_matches_its_scalar_reference(tmp_path):
    out = tmp_path / "isa.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "isa_ceiling.py"), "--seconds", "0.01", "--trials", "2",
                           "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    r = json.loads(out.read_text())
    assert set(r["mixes"]) == {"f32_fma128", "f32_fma256", "q8p", "q8p_i16w", "pmaddwd_only", "i8dot_lowered"}
    for name, m in r["mixes"].items():
        assert m["verified"] is True, name
        assert len(m["trials_gmacs"]) == 2 and m["gmacs"] == max(m["trials_gmacs"]) > 0
    assert r["ratios"]["q8p/f32_fma128"]["value"] == round(r["mixes"]["q8p"]["gmacs"] / r["mixes"]["f32_fma128"]["gmacs"], 3)
    assert "| q8p |" in done.stdout and "| ratio | value |" in done.stdout
