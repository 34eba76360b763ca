"""The measurement behind the browser-backend decision (tokenizer README): how often npm
`@huggingface/tokenizers` disagrees with Rust `tokenizers` on the test corpus, and how fast it is,
under Node (V8, the engine Chromium uses).

    npm pack @huggingface/tokenizers@0.2.0 && tar xzf huggingface-tokenizers-0.2.0.tgz
    python bench/tokenizers_js_parity.py --package ./package

The package is not a dependency of staticml; this script only needs it unpacked somewhere.
Prints JSON: per tokenizer file, strings whose ids differ from Rust (encode without truncation), tokens/s.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "py_src"), str(REPO / "tests")]

NODE_SCRIPT = r"""
import fs from "fs";
const { Tokenizer } = await import(process.argv[2]);
const d = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const res = {};
for (const [name, text] of Object.entries(d.files)) {
  let t0 = performance.now();
  const tok = new Tokenizer(JSON.parse(text), {});
  const load_ms = performance.now() - t0;
  let bad = 0, tokens = 0, dt = 0;
  const examples = [];
  for (let pass = 0; pass < 2; pass++) {  // the first pass warms V8 up
    t0 = performance.now(); tokens = 0; bad = 0;
    d.texts.forEach((s, i) => {
      let ids;
      try { ids = Array.from(tok.encode(s).ids); } catch (e) { ids = ["error: " + e.message]; }
      tokens += ids.length;
      if (JSON.stringify(ids) !== JSON.stringify(d.ids[name][i])) {
        bad++;
        if (pass === 1 && examples.length < 3) examples.push(s.slice(0, 60));
      }
    });
    dt = (performance.now() - t0) / 1000;
  }
  res[name] = { load_ms, mismatched_strings: bad, strings: d.texts.length, tokens_per_s: tokens / dt, examples };
}
console.log(JSON.stringify(res));
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", required=True, type=Path, help="unpacked @huggingface/tokenizers (has dist/)")
    args = ap.parse_args(argv)
    entry = args.package.resolve() / "dist" / "tokenizers.mjs"
    if not entry.is_file():
        ap.error(f"{entry} not found: unpack the npm tarball and pass its package/ folder")
    from tokenizer_data import reference

    from staticml.tokenizer import Tokenizer

    files = {name: text for name, (text, _) in reference.files().items()}
    texts = list(reference.texts())
    ids = {}
    for name, text in files.items():
        tok = Tokenizer.from_json(text, backend="rust")
        ids[name] = [tok.encode(s, truncation=False).ids for s in texts]
    with tempfile.TemporaryDirectory() as tmp:
        data, script = Path(tmp) / "data.json", Path(tmp) / "parity.mjs"
        data.write_text(json.dumps({"files": files, "texts": texts, "ids": ids}), encoding="utf-8")
        script.write_text(NODE_SCRIPT, encoding="utf-8")
        out = subprocess.run(["node", str(script), entry.as_uri(), str(data)], capture_output=True, text=True)
    if out.returncode:
        print(out.stderr, file=sys.stderr)
        return out.returncode
    print(json.dumps(json.loads(out.stdout), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
