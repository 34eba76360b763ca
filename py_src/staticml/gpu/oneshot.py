"""Run one kernel once: upload inputs, dispatch, read the output back, free everything.

For self-tests and kernel tests, where a whole plan would be ceremony. Models use plans.
"""
from . import usage


async def run_kernel(device, key: str, wgsl: str, entry_point: str, uniforms: bytes,
                     inputs: list[bytes], out_nbytes: int, groups: tuple[int, int, int]) -> bytes:
    """Bindings follow the shaders' convention: 0 = uniforms, 1..n = inputs, n+1 = output."""
    pipeline = await device.pipeline(key, wgsl, entry_point)
    owned = []
    try:
        ubuf = device.buffer(len(uniforms), usage.UNIFORM_W)
        owned.append(ubuf)
        device.write(ubuf, uniforms)
        bindings = [(0, ubuf, 0, 0)]
        for i, data in enumerate(inputs, start=1):
            buf = device.buffer(len(data))
            owned.append(buf)
            device.write(buf, data)
            bindings.append((i, buf, 0, 0))
        out = device.buffer(out_nbytes)
        owned.append(out)
        bindings.append((len(inputs) + 1, out, 0, 0))
        group = device.bind_group(pipeline, bindings)
        owned.append(group)
        device.run([(pipeline, group, *groups)])
        return await device.read(out, out_nbytes)
    finally:
        for obj in owned:
            device.release(obj)
