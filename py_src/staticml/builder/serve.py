"""`build.py serve`: serve dist/ on 127.0.0.1 with the same headers the static hosts get."""
import errno
import functools
import http.server
import json
import os
import urllib.parse
from pathlib import Path

from . import headers
from .errors import BuildError
from .hashing import sha256_file

MIME = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
        ".json": "application/json", ".webmanifest": "application/manifest+json", ".whl": "application/zip",
        ".zip": "application/zip", ".css": "text/css", ".html": "text/html", ".png": "image/png",
        ".svg": "image/svg+xml", ".bin": "application/octet-stream"}


@functools.lru_cache(maxsize=4096)
def _etag(path: str, ino: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    # Keyed on the inode and its change time too: any write or utime() moves ctime, so a cached hash
    # can never outlive the bytes it was computed from.
    return f'"{sha256_file(Path(path))[:32]}"'


def content_etag(path: str) -> str:
    st = os.stat(path)
    return _etag(path, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Revalidation is by content: every file carries an ETag (its sha256), a conditional request gets
    304 only when If-None-Match names the current bytes, and Last-Modified is neither sent nor honoured.
    The standard handler compares If-Modified-Since with the file's mtime to the second, which answers
    304 for a changed sw.js whenever the new build's mtime falls in the same second as the old one's
    (two quick builds) or before it (a copy that keeps mtimes, a rollback): the browser then keeps the
    old service worker, which never evicts the old model's shards (tests/browser/test_cache_faults.py)."""
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}
    rules: list = []
    quiet = False
    _etag_value = None

    def send_head(self):
        del self.headers["If-Modified-Since"]   # never validate by mtime (see the class docstring)
        path = self._file_path()
        self._etag_value = content_etag(path) if path else None
        wanted = self.headers.get("If-None-Match")
        if self._etag_value and wanted:
            tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
            if "*" in tags or self._etag_value in tags:
                self.send_response(304)
                self.end_headers()
                return None
        return super().send_head()

    def _file_path(self) -> str | None:
        """The file the standard handler serves for this URL (a folder's index.html), or None."""
        path = self.translate_path(self.path)   # keeps a trailing "/"; a folder without one is redirected
        if os.path.isdir(path) and path.endswith("/"):
            path = os.path.join(path, "index.html")
        return path if os.path.isfile(path) else None

    def send_header(self, keyword, value):
        if keyword.lower() != "last-modified":   # validation is by ETag only (see the class docstring)
            super().send_header(keyword, value)

    def end_headers(self):
        for key, value in headers.headers_for(self.path.split("?", 1)[0], self.rules).items():
            if key != "Content-Type":  # the MIME table above already set it
                self.send_header(key, value)
        if self._etag_value:
            self.send_header("ETag", self._etag_value)
            self._etag_value = None   # one response's; a kept-alive connection's next request sets its own
        super().end_headers()

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, fmt, *args):
        if not self.quiet:
            super().log_message(fmt, *args)


def _rules_of(root: Path) -> list:
    """The served rules are the built ones: COOP/COEP only if the build emitted them."""
    isolated = "Cross-Origin-Embedder-Policy" in (root / "_headers").read_text()
    return headers.rules(isolated)


def make_server(root: Path, port: int, host: str = "127.0.0.1", quiet: bool = False, handler_base=None):
    """handler_base: a SiteHandler subclass to serve with (benchmarks count bytes with one)."""
    root = root.resolve()
    if not (root / "index.html").is_file():
        raise BuildError(f"{root} has no index.html: run `python build.py build` first")
    handler = functools.partial(type("Handler", (handler_base or SiteHandler,), {"rules": _rules_of(root), "quiet": quiet}),
                                directory=str(root))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise BuildError(f"port {port} on {host} is already in use: stop the other server or pass --port N") from None
        raise


def serve(root: Path, port: int, host: str = "127.0.0.1") -> None:
    server = make_server(root, port, host)
    print(json.dumps({"serving": str(root.resolve()), "url": f"http://{host}:{server.server_address[1]}/"}), flush=True)
    print(f"staticml: open http://{host}:{server.server_address[1]}/  (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
