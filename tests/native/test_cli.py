"""build.py's command line and `serve`: usage errors, help, headers and MIME types as served."""
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.site_server import serving
from staticml.builder import headers

REPO = Path(__file__).resolve().parents[2]


def build_py(*args):
    return subprocess.run([sys.executable, str(REPO / "build.py"), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["build", "--no-such-flag"], ["serve", "--port", "abc"]])
def test_bad_command_lines_print_usage_and_fail(args):
    proc = build_py(*args)
    assert proc.returncode == 2
    assert "usage: build.py" in proc.stderr


@pytest.mark.parametrize("sub", ["build", "serve"])
def test_every_subcommand_has_help(sub):
    proc = build_py(sub, "--help")
    assert proc.returncode == 0 and f"usage: build.py {sub}" in proc.stdout


def test_serve_says_when_the_port_is_taken(built_site):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = build_py("serve", "--dir", str(built_site), "--port", str(port))
    assert proc.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr


def test_serve_without_a_build_says_to_build(tmp_path):
    proc = build_py("serve", "--dir", str(tmp_path))
    assert proc.returncode == 2 and "run `python build.py build` first" in proc.stderr


def test_served_headers_and_types_match_the_rules(built_site):
    table = headers.rules(False)
    wanted_types = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
                    ".html": "text/html", ".json": "application/json", ".webmanifest": "application/manifest+json"}
    with serving(built_site) as url:
        for path in sorted(p for p in built_site.rglob("*") if p.is_file()):
            rel = "/" + path.relative_to(built_site).as_posix()
            with urllib.request.urlopen(url + rel.lstrip("/")) as resp:
                assert resp.read() == path.read_bytes()
                for key, value in headers.headers_for(rel, table).items():
                    assert resp.headers[key] == value, (rel, key)
                if path.suffix in wanted_types:
                    assert resp.headers["Content-Type"].startswith(wanted_types[path.suffix]), rel
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "no/such/page")
        assert err.value.code == 404 and b"Not found" in err.value.read()


def test_serve_revalidates_by_content_not_by_mtime(tmp_path):
    """A new sw.js whose mtime is not later than the old one's (two builds in one second, a copy that keeps
    mtimes, a rollback) must still be served in full to a browser revalidating the old one: Chromium's
    update check sends If-Modified-Since, and a 304 there keeps the old service worker for good."""
    import os

    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "_headers").write_text(headers.cloudflare_headers(headers.rules(False)))
    sw = tmp_path / "sw.js"
    sw.write_text("// build 1\n")
    old_mtime = sw.stat().st_mtime

    def get(path, **conditions):
        request = urllib.request.Request(url + path, headers=conditions)
        try:
            with urllib.request.urlopen(request) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    with serving(tmp_path) as url:
        status, h, body = get("sw.js")
        etag = h["ETag"]
        assert status == 200 and body == b"// build 1\n" and etag and h["Last-Modified"] is None
        assert h["Cache-Control"] == "no-cache"
        assert get("sw.js", **{"If-None-Match": etag})[0] == 304
        assert get("sw.js", **{"If-None-Match": f'"other", W/{etag}'})[0] == 304
        far_future = "Fri, 01 Jan 2100 00:00:00 GMT"
        status, h, body = get("sw.js", **{"If-Modified-Since": far_future})   # an mtime never says "unchanged"
        assert status == 200 and body == b"// build 1\n"

        sw.write_text("// build 2\n")
        os.utime(sw, (old_mtime, old_mtime))   # the same mtime as build 1's
        status, h, body = get("sw.js", **{"If-None-Match": etag, "If-Modified-Since": far_future})
        assert status == 200 and body == b"// build 2\n" and h["ETag"] != etag

        status, h, _ = get("")   # a folder is revalidated by its index.html's bytes
        assert status == 200 and get("", **{"If-None-Match": h["ETag"]})[0] == 304
        assert get("no-such-file", **{"If-None-Match": "*"})[0] == 404
