"""The demo's search corpus is the same whatever the build process imported: it is the index's content, so a
corpus that moved with the build's imports gave the index shard a new hash (and a new embedding run) on builds
that changed nothing."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRINT = ("import json, sys; sys.path.insert(0, {src!r}); {pre}"
         "from staticml.builder.demo_corpus import stdlib_documents; print(json.dumps(stdlib_documents()))")


def _corpus(pre: str = "") -> list:
    done = subprocess.run([sys.executable, "-c", PRINT.format(src=str(REPO / "py_src"), pre=pre)],
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_corpus_does_not_change_with_what_the_build_imported():
    plain = _corpus()
    # transformers patches logging.Logger (warning_once, info_once, warning_advice) when imported
    patched = _corpus("import logging, transformers.utils.logging; assert hasattr(logging.Logger, 'warning_once'); ")
    assert plain == patched
    ids = [d["id"] for d in plain]
    assert len(plain) > 2000 and ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({d["text"] for d in plain}) == len(plain)          # duplicates of text removed
    assert "logging.Logger.warning_once" not in ids and "json.dumps" in ids
