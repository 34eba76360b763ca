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
