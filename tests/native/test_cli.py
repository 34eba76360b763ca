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
