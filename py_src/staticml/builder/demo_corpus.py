"""The demo's search corpus: one document per documented public function, class and method of the
Python standard library, taken from the interpreter's own docstrings (no download).

The corpus depends only on the Python version that builds it: it is read in a fresh, isolated interpreter
(`python -I`), because libraries the build process has imported patch the standard library (transformers adds
`logging.Logger.warning_once`, others replace `inspect.getfile`), and a corpus that changed with them gave the
index a new content hash, and a new embedding run, on builds that changed nothing.
`python -I py_src/staticml/builder/demo_corpus.py OUT.json` writes it.
"""
import importlib
import inspect
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

# Modules that do something when imported (open a browser, print, start Tk) or are not documentation.
SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3", "ensurepip",
        "pydoc_data", "__main__", "__hello__", "__phello__", "_pydecimal", "msvcrt", "winreg", "winsound",
        "_winapi", "nt", "msilib", "_msi", "_overlapped", "asyncio.windows_events", "crypt", "nis", "spwd",
        "ossaudiodev", "readline", "curses", "sre_compile", "sre_parse", "sre_constants"}

MIN_CHARS, MAX_CHARS = 40, 600


def _first_paragraph(doc: str) -> str:
    para = inspect.cleandoc(doc).split("\n\n", 1)[0]
    return " ".join(para.split())


def _public(names):
    return sorted(n for n in names if not n.startswith("_"))


def _documents_of(module) -> list[dict]:
    docs = []
    mod_name = module.__name__

    def add(qualname: str, obj) -> None:
        doc = getattr(obj, "__doc__", None)
        if not isinstance(doc, str):
            return
        text = _first_paragraph(doc)
        if len(text) >= MIN_CHARS:
            docs.append({"id": f"{mod_name}.{qualname}" if qualname else mod_name, "text": text[:MAX_CHARS]})

    add("", module)
    for name in _public(getattr(module, "__all__", None) or dir(module)):
        obj = getattr(module, name, None)
        if getattr(obj, "__module__", mod_name) != mod_name:  # documented where it is defined
            continue
        if inspect.isclass(obj):
            add(name, obj)
            for attr in _public(vars(obj)):
                member = vars(obj)[attr]
                if inspect.isfunction(member) or inspect.ismethoddescriptor(member):
                    add(f"{name}.{attr}", member)
        elif inspect.isroutine(obj):
            add(name, obj)
    return docs


def stdlib_documents() -> list[dict]:
    """[{id, text}], sorted by id, duplicates of text removed (first id wins), read in a fresh `python -I`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "corpus.json"
        done = subprocess.run([sys.executable, "-I", __file__, str(out)], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"reading the standard library's docstrings failed:\n{done.stderr[-2000:]}")
        return json.loads(out.read_text())


def _scan() -> list[dict]:
    """stdlib_documents() in this interpreter, whatever it has imported."""
    out, seen = [], set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in sorted(sys.stdlib_module_names):
            if name in SKIP or name.startswith("_"):
                continue
            try:
                module = importlib.import_module(name)
            except Exception:  # platform-specific modules that do not exist here
                continue
            for doc in _documents_of(module):
                if doc["text"] not in seen:
                    seen.add(doc["text"])
                    out.append(doc)
    return sorted(out, key=lambda d: d["id"])


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(_scan()))
