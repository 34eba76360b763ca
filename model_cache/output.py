"""Write a converted model so that nothing half-written ever looks complete.

Everything goes into a hidden temporary folder beside the destination; manifest.json is written
last, and only then is the folder renamed into place (an atomic rename on one filesystem). On any
error the temporary folder is removed. A reader therefore sees either no folder, the previous
complete one, or the new complete one; and a folder without manifest.json is never a model.
"""
import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

from .errors import ConvertError

DISK_FULL = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
             errno.EFBIG: "the file size limit was reached"}


@contextlib.contextmanager
def atomic_folder(out: Path):
    """Yields a temporary folder; on success it replaces `out`."""
    out = Path(out).absolute()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as e:
        raise _explain(e, out) from None
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes it private; a converted model is meant to be served
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _explain(e, out) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _explain(e: OSError, out: Path) -> Exception:
    if e.errno in DISK_FULL:
        return ConvertError(f"cannot write the converted model to {out}: {DISK_FULL[e.errno]} ({e.strerror}). "
                            "Free some space or pass --out on a disk with room; nothing was left behind.")
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConvertError(f"cannot write to {out}: {e.strerror}. Pass --out to a folder you can write.")
    return ConvertError(f"writing {out} failed: {e}")
