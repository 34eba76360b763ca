"""Glue between the builder and the native converter in <repo>/model_cache (a top-level folder, not
part of the wheel): `build.py convert` and the models `build.py build --model` copies into dist/."""
import sys
from pathlib import Path

from .errors import BuildError

REPO = Path(__file__).resolve().parents[3]


def model_cache():
    """Import <repo>/model_cache (needs numpy; only the native build tooling ever does this)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    try:
        import model_cache
    except ImportError as e:
        raise BuildError(f"the model converter needs numpy ({e}); `make setup` installs it") from None
    return model_cache


def convert(folder: Path | None, out: Path | None, dtype: str, shard_mib: float, model_id: str | None) -> Path:
    mc = model_cache()
    try:
        if folder is None:
            folder = mc.default_model_folder()
            model_id = model_id or mc.model_id_for(mc.DEFAULT_MODEL_NAME, dtype)
        model_id = model_id or mc.model_id_for(Path(folder).name, dtype)
        out = out or REPO / "build" / "models" / model_id
        manifest = mc.convert(mc.ConvertOptions(folder=Path(folder), out=out, dtype=dtype, shard_mib=shard_mib,
                                                model_id=model_id))
    except mc.ConvertError as e:
        raise BuildError(str(e)) from None
    mc.print_report(manifest)
    print(f"wrote {out}/manifest.json")
    return out


def include_model(folder: Path, root: Path, log=print) -> dict:
    """Copy a converted model into root/models/<model-id>/ after checking every byte against its manifest.

    Every file there is named by its content (shards: <sha256>.bin, files: <name>.<sha12>.<ext>, the
    manifest: manifest.<sha12>.json), so the whole folder is cached immutably; the page config and
    the service worker learn the manifest's URL from the (revalidated) index.html and sw.js.
    Returns the entry for the page config and the service worker.
    """
    import hashlib
    import shutil

    mc = model_cache()
    folder = Path(folder)
    try:
        manifest = mc.load_manifest(folder)
        mc.verify(folder, manifest)   # precompute nothing we cannot verify: the bytes must match the manifest
    except mc.ConvertError as e:
        raise BuildError(f"--model {folder}: {e}") from None
    model_id = manifest["model_id"]
    dest = root / "models" / model_id
    if dest.exists():
        raise BuildError(f"--model {folder}: a model with id {model_id!r} is already included; "
                         "convert one of them with another --model-id")
    dest.mkdir(parents=True)
    for name in [s["file"] for s in manifest["shards"]] + [f["file"] for f in manifest["files"].values()]:
        shutil.copyfile(folder / name, dest / name)
    raw = (folder / "manifest.json").read_bytes()
    manifest_name = f"manifest.{hashlib.sha256(raw).hexdigest()[:12]}.json"
    (dest / manifest_name).write_bytes(raw)
    base = f"./models/{model_id}/"
    log(f"model {model_id} ({manifest['dtype']}, {len(manifest['shards'])} shards, "
        f"{manifest['total_bytes'] / 2**20:.1f} MiB) -> models/{model_id}/")
    return {
        "id": model_id, "manifest": base + manifest_name, "dtype": manifest["dtype"],
        "total_bytes": manifest["total_bytes"] + sum(f["nbytes"] for f in manifest["files"].values()),
        # what the service worker serves from IndexedDB (url -> sha256) and keeps when evicting
        "blobs": [{"url": base + s["file"], "sha256": s["sha256"], "type": "application/octet-stream"}
                  for s in manifest["shards"]]
               + [{"url": base + f["file"], "sha256": f["sha256"], "type": "application/json"}
                  for _, f in sorted(manifest["files"].items())],
    }
