"""Every way a conversion can fail gives a clear error (exit status 2 from build.py) and leaves
nothing that looks like a complete model: no manifest.json, no output folder, no temp folder."""
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from convert_helpers import REPO, model_cache
from harness.tiny_models import write_tiny_bert


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("tiny"), seed=4)


@pytest.fixture
def folder(pristine, tmp_path):
    """A private copy each test may damage."""
    return shutil.copytree(pristine, tmp_path / "model")


def cli(*args, preexec_fn=None):
    return subprocess.run([sys.executable, str(REPO / "build.py"), "convert", *map(str, args)],
                          capture_output=True, text=True, timeout=120, preexec_fn=preexec_fn)


def assert_fails_cleanly(proc, out, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("build.py convert: error: "), proc.stderr
    for needle in needles:
        assert needle in message, message
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def test_missing_folder(tmp_path):
    proc = cli(tmp_path / "nope", "--out", tmp_path / "out")
    assert_fails_cleanly(proc, tmp_path / "out", "nope: no such folder")


def test_missing_tokenizer(folder, tmp_path):
    (folder / "tokenizer.json").unlink()
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out"), tmp_path / "out", "tokenizer.json: no such file")


def test_missing_weight_shard_listed_in_the_index(tmp_path):
    folder = write_tiny_bert(tmp_path / "sharded", seed=4, max_shard_size="100KB")
    (folder / "model-00003-of-00005.safetensors").unlink()
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out"), tmp_path / "out",
                         "model-00003-of-00005.safetensors: no such file", "index.json lists it")


def test_unsupported_architecture(folder, tmp_path):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architectures": ["GPT2LMHeadModel"]}))
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out"), tmp_path / "out",
                         "GPT2LMHeadModel", "not supported", "BertModel")


def test_unsupported_tensor_dtype(folder, tmp_path):
    tensors = load_file(folder / "model.safetensors")
    tensors["pooler.dense.bias"] = tensors["pooler.dense.bias"].astype(np.float64)
    save_file(tensors, folder / "model.safetensors")
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out"), tmp_path / "out", "'pooler.dense.bias'", "F64",
                         "floating-point weights only")


def test_unsupported_output_dtype_and_shard_size(folder, tmp_path):
    with pytest.raises(model_cache.ConvertError, match="--dtype q3: unsupported; choose one of f32, f16, q8, q4"):
        model_cache.convert(model_cache.ConvertOptions(folder=folder, out=tmp_path / "out", dtype="q3"))
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out", "--shard-mib", 30), tmp_path / "out",
                         "--shard-mib 30.0", "at most 25")


def test_truncated_safetensors(folder, tmp_path):
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out"), tmp_path / "out", "truncated safetensors file",
                         "download it again")


def test_corrupted_safetensors_header(folder, tmp_path):
    path = folder / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[8:20] = b"\x00garbage!!!!"
    path.write_bytes(bytes(data))
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out"), tmp_path / "out", "corrupted safetensors header")


def test_header_length_beyond_the_file(folder, tmp_path):
    path = folder / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 10**9) + path.read_bytes()[8:])
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out"), tmp_path / "out", "header claims 1000000000 bytes")


def test_corrupted_weight_bytes_that_decode_to_nan(folder, tmp_path):
    """Damage inside the data block (no header change): the NaN check names the tensor."""
    tensors = load_file(folder / "model.safetensors")
    header_len = struct.unpack("<Q", (folder / "model.safetensors").read_bytes()[:8])[0]
    meta = json.loads((folder / "model.safetensors").read_bytes()[8:8 + header_len])
    begin = 8 + header_len + meta["encoder.layer.1.output.dense.weight"]["data_offsets"][0]
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[begin:begin + 4] = b"\xff\xff\xff\xff"   # an f32 NaN
    (folder / "model.safetensors").write_bytes(bytes(data))
    assert tensors  # the file still parses: only the NaN check can catch this
    assert_fails_cleanly(cli(folder, "--out", tmp_path / "out"), tmp_path / "out",
                         "'encoder.layer.1.output.dense.weight' contains NaN or Inf")


def test_a_failed_conversion_keeps_the_previous_complete_output(folder, tmp_path):
    out = tmp_path / "out"
    assert cli(folder, "--out", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (folder / "tokenizer.json").unlink()
    proc = cli(folder, "--out", out)
    assert proc.returncode == 2 and "tokenizer.json" in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []


def _can_mount_private_tmpfs() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_mount_private_tmpfs(), reason="needs unprivileged user+mount namespaces (unshare)")
def test_full_disk_on_a_real_small_filesystem(folder, tmp_path):
    """A 256 KiB tmpfs mounted in a private namespace: the shards do not fit (ENOSPC for real)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (f"mount -t tmpfs -o size=256k tmpfs {disk} && "
              f"{sys.executable} {REPO / 'build.py'} convert {folder} --out {disk}/out --shard-mib 0.0625; "
              f"echo rc=$?; echo files:; find {disk} -mindepth 1")
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=120)
    assert "rc=2" in proc.stdout, proc.stdout + proc.stderr
    assert "the disk is full (No space left on device)" in proc.stderr and "nothing was left behind" in proc.stderr
    assert proc.stdout.split("files:")[1].strip() == ""   # no output folder, no partial folder
    assert "Traceback" not in proc.stderr


def test_file_size_limit_is_reported_like_a_full_disk(folder, tmp_path):
    """RLIMIT_FSIZE (works without namespaces): the kernel refuses writes past 100 KB with EFBIG."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    out = tmp_path / "out"
    proc = cli(folder, "--out", out, "--shard-mib", 0.25, preexec_fn=limit)
    assert_fails_cleanly(proc, out, "the file size limit was reached", "nothing was left behind")
    assert os.listdir(tmp_path) == ["model"]
