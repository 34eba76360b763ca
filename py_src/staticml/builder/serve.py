"""`build.py serve`: serve dist/ on 127.0.0.1 with the same headers the static hosts get."""
import errno
import functools
import http.server
import json
from pathlib import Path

from . import headers
from .errors import BuildError

MIME = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
        ".json": "application/json", ".webmanifest": "application/manifest+json", ".whl": "application/zip",
        ".zip": "application/zip", ".css": "text/css", ".html": "text/html", ".png": "image/png",
        ".svg": "image/svg+xml", ".bin": "application/octet-stream"}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}
    rules: list = []
    quiet = False

    def end_headers(self):
        for key, value in headers.headers_for(self.path.split("?", 1)[0], self.rules).items():
            if key != "Content-Type":  # the MIME table above already set it
                self.send_header(key, value)
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
