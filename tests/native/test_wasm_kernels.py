"""`build_wasm` compiles shaders/cpu/*.c with ziglang into the four kernel variants, reproducibly."""
import re
import struct

from staticml.builder.wasm_kernels import REPO, VARIANTS, build_wasm

WANTED_EXPORTS = {"sm_alloc", "sm_mark", "sm_reset", "sm_set_threads", "sm_matmul_f32", "sm_matmul_f16", "sm_matmul_q8",
                  "sm_matmul_q8_dynamic", "sm_matmul_q8p", "sm_matmul_q8x7", "sm_matmul_q4", "sm_pack_f32", "sm_pack_q8", "sm_pack_q8x7", "sm_layer_norm", "sm_rms_norm", "sm_softmax",
                  "sm_attention", "sm_activation", "sm_binary", "sm_rotary", "sm_copy", "sm_matmul_batched", "sm_embedding", "sm_mean_pool", "sm_l2_normalize",
                  "sm_argmax", "__stack_pointer", "__heap_base"}


def _leb(data, i):
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def sections(data: bytes) -> dict:
    assert data[:8] == b"\0asm\1\0\0\0", "not a wasm module"
    out, i = {}, 8
    while i < len(data):
        sid, size_at = data[i], i + 1
        size, i = _leb(data, size_at)
        out.setdefault(sid, []).append(data[i:i + size])
        i += size
    return out


def exports(data: bytes) -> set:
    body = sections(data)[7][0]
    count, i = _leb(body, 0)
    names = set()
    for _ in range(count):
        n, i = _leb(body, i)
        names.add(body[i:i + n].decode())
        i += n + 1
        _, i = _leb(body, i)
    return names


def memory_import(data: bytes) -> tuple[str, str, int]:
    body = sections(data)[2][0]
    count, i = _leb(body, 0)
    for _ in range(count):
        n, i = _leb(body, i)
        module = body[i:i + n].decode()
        i += n
        n, i = _leb(body, i)
        name = body[i:i + n].decode()
        i += n
        kind, flags = body[i], body[i + 1]
        if kind == 2:
            return module, name, flags
        raise AssertionError("only the memory is imported")
    raise AssertionError("no memory import")


def test_four_variants_with_every_op_and_an_imported_memory(tmp_path):
    paths = build_wasm(tmp_path / "a")
    assert [p.name for p in paths] == [f"kernels-{v}.wasm" for v in VARIANTS]
    for p in paths:
        data = p.read_bytes()
        # ~66 KiB since GELU is inlined into every matmul epilogue; next to a model's weights (23+ MiB) noise
        assert len(data) < 80 * 1024, f"{p.name} is {len(data)} bytes"
        assert WANTED_EXPORTS <= exports(data), WANTED_EXPORTS - exports(data)
        module, name, flags = memory_import(data)
        assert (module, name) == ("env", "memory")
        assert bool(flags & 2) == p.name.endswith("-threads.wasm")   # flag bit 1: shared memory
    assert {"sm_worker_enter", "sm_worker_loop"} <= exports(paths[2].read_bytes())


def test_builds_are_reproducible_and_the_cache_returns_the_same_bytes(tmp_path):
    first = [p.read_bytes() for p in build_wasm(tmp_path / "a", cache_dir=tmp_path / "cache")]
    again = [p.read_bytes() for p in build_wasm(tmp_path / "b")]
    cached = [p.read_bytes() for p in build_wasm(tmp_path / "c", cache_dir=tmp_path / "cache")]
    assert first == again == cached
    assert struct.unpack("<I", first[0][4:8])[0] == 1


def test_the_glue_caps_threads_where_the_kernels_do():
    """cpu_glue.js starts at most MAX_THREADS threads (and defaults to one per core up to it); the kernels keep
    one scratch per thread up to SM_MAX_THREADS, so a larger pool would index past their table."""
    c = re.search(r"#define SM_MAX_THREADS (\d+)", (REPO / "shaders" / "cpu" / "common.h").read_text())
    js = re.search(r"const MAX_THREADS = (\d+);", (REPO / "site" / "cpu_glue.js").read_text())
    assert c and js and int(c.group(1)) == int(js.group(1)) == 16
