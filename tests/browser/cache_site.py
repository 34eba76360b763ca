"""Test machinery for the model-cache tests: tiny converted models, sites built with them by the
product's own `build()`, a server (the product's handler) that can misbehave on purpose and logs
every request, and helpers that read the browser's IndexedDB directly."""
import contextlib
import http.server
import json
import sys
import threading
from pathlib import Path

from harness.chromium import await_js
from harness.tiny_models import write_tiny_bert
from staticml.builder import headers
from staticml.builder.serve import SiteHandler

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import model_cache  # noqa: E402


def converted_tiny(tmp: Path, seed: int, dtype: str = "f32", model_id: str = "tiny") -> Path:
    """A tiny BERT (seed decides the weights) converted into 64 KiB shards (9 shards for f32)."""
    hf = write_tiny_bert(tmp / f"hf-{seed}", seed=seed)
    out = tmp / f"{model_id}-{seed}-{dtype}"
    model_cache.convert(model_cache.ConvertOptions(folder=hf, out=out, dtype=dtype, shard_mib=0.0625, model_id=model_id))
    return out


def build_site(out: Path, models: list[Path], isolated: bool = False) -> Path:
    from staticml.builder.site import BuildOptions, build

    return build(BuildOptions(out=out, models=models, cross_origin_isolated=isolated, log=lambda *_: None))


def manifest_of(site: Path, model_id: str) -> tuple[Path, dict]:
    folder = site / "models" / model_id
    (path,) = folder.glob("manifest.*.json")
    return folder, json.loads(path.read_text())


class Faults:
    """What the server does wrong, and what it was asked for. Paths are as requested ('/models/...')."""

    def __init__(self, root: Path):
        self.root = root
        self.log: list[str] = []
        self.cut_after: int | None = None   # serve this many model blobs, then cut every later one mid-body
        self.corrupt: set[str] = set()      # file names answered with one byte flipped
        self.html_for: set[str] = set()     # file names answered with index.html, 200, text/html
        self.served_blobs = 0
        self.lock = threading.Lock()

    def model_requests(self, since: int = 0) -> list[str]:
        return [p.rsplit("/", 1)[-1] for p in self.log[since:] if p.startswith("/models/") and "manifest." not in p]


class FaultyHandler(SiteHandler):
    faults: Faults = None
    rules = headers.rules(False)
    quiet = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(self.faults.root), **kwargs)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        name = path.rsplit("/", 1)[-1]
        f = self.faults
        with f.lock:
            f.log.append(path)
            blob = path.startswith("/models/") and "manifest." not in name
            if blob:
                f.served_blobs += 1
            cut = blob and f.cut_after is not None and f.served_blobs > f.cut_after
        if name in f.html_for:
            return self._send((f.root / "index.html").read_bytes(), "text/html; charset=utf-8")
        target = f.root / path.lstrip("/")
        if blob and target.is_file() and (name in f.corrupt or cut):
            data = bytearray(target.read_bytes())
            if cut:   # promise the whole file, send half, hang up: a download that breaks off
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(bytes(data[: len(data) // 2]))
                self.wfile.flush()
                self.close_connection = True
                return
            data[len(data) // 2] ^= 0xFF
            return self._send(bytes(data), "application/octet-stream")
        return super().do_GET()

    def _send(self, body: bytes, ctype: str):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def faulty_server(root: Path):
    faults = Faults(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("H", (FaultyHandler,), {"faults": faults}))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", faults, server
    finally:
        server.shutdown()
        server.server_close()


def idb_keys(driver) -> set[str]:
    """The sha256 keys in the page origin's IndexedDB store, read by the test, not by staticml."""
    return set(await_js(driver, """indexedDB.databases().then((dbs) => dbs.some((d) => d.name === "staticml-models")
      ? new Promise((resolve, reject) => {
        const req = indexedDB.open("staticml-models");
        req.onsuccess = () => {
            const db = req.result;
            if (!db.objectStoreNames.contains("blobs")) { db.close(); return resolve([]); }
            const keys = db.transaction("blobs").objectStore("blobs").getAllKeys();
            keys.onsuccess = () => { db.close(); resolve(keys.result); };
            keys.onerror = () => reject(keys.error);
        };
        req.onerror = () => reject(req.error);
      }) : [])"""))


def shell_version(site: Path) -> str:
    """The build version a site's service worker reports (the line build.py prepends to sw.js)."""
    first = (site / "sw.js").read_text().split("\n", 1)[0]
    return json.loads(first.removeprefix("self.STATICML_PRECACHE = ").removesuffix(";"))["version"]


def blob_shas(manifest: dict) -> set[str]:
    return {s["sha256"] for s in manifest["shards"]} | {f["sha256"] for f in manifest["files"].values()}
