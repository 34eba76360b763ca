import hashlib
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hashed_name(name: str, data: bytes, length: int = 12) -> str:
    """'app.js' + bytes -> 'app.3f2a9c0d1b7e.js': the name changes exactly when the content does."""
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{sha256_bytes(data)[:length]}.{ext}" if dot else f"{name}.{sha256_bytes(data)[:length]}"
