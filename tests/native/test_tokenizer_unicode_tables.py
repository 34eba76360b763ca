"""The committed character tables of the pure-Python tokenizer are exactly what the installed Rust
`tokenizers` library uses (a library upgrade that changes them fails here: rerun the generator)."""
import subprocess
import sys
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[1] / "tokenizer_data" / "make_unicode_tables.py"


def test_unicode_tables_match_the_installed_rust_library():
    r = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
