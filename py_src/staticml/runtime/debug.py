"""Debug mode: submit after every op, read its output back and check it.

Switched on by the environment variable STATICML_DEBUG=1 (the worker sets it from the page's
`?debug=1`), or per program with `backend.compile(plan, debug_mode=True)`.

Inside the browser there is no numpy, so each op's output is checked for NaN/Inf on the spot
(the error names the op) and the whole trace is returned; `compare_trace` (native, numpy) then
runs every op's reference on the GPU's own inputs and checks the GPU's output against it with
the tolerances of ops/tolerance.py, so a wrong kernel is named, not just a wrong final answer.
"""
import math
import os
from array import array


class DebugCheckFailed(RuntimeError):
    pass


def enabled() -> bool:
    return os.environ.get("STATICML_DEBUG", "") not in ("", "0", "false", "False")


def check_node(node, out: bytes) -> None:
    """NaN/Inf in an f32 output means the op (or its input) is broken: say which op."""
    if node.out.dtype != "f32":
        return
    vals = array("f")
    vals.frombytes(out)
    for k, v in enumerate(vals):
        if not math.isfinite(v):
            raise DebugCheckFailed(f"op #{node.index} {node.op} {list(node.out.shape)} produced {v} at flat index {k}; "
                                   f"params {node.params}")


def compare_trace(np_backend, np_plan, inputs: dict, trace: list) -> list:
    """Native: check each traced GPU op against its reference fed with the GPU's own inputs.

    np_plan must be the same plan recorded on `np_backend` (same model code, same weights).
    Returns [(index, op, max_abs_err)]; raises AssertionError naming the first op out of tolerance.
    """
    import numpy as np

    from ..ops import tolerance
    from .numpy_backend import NP_DTYPES, _flat, execute, view

    store = {t.storage: _flat(inputs[name], t.dtype, t.numel) for name, t in np_plan.inputs.items()}
    by_index = {entry["index"]: entry for entry in trace}
    report = []
    for node in np_plan.nodes:
        got = np.frombuffer(by_index[node.index]["out"], NP_DTYPES[node.out.dtype]).reshape(node.out.shape)
        ref = execute(np_backend, node, lambda t: view(store, t))
        ctx = {}
        if node.op in ("linear", "matmul"):
            a = view(store, node.inputs["x" if node.op == "linear" else "a"])
            b = np_backend.dense(node.inputs["w"]) if node.op == "linear" else view(store, node.inputs["b"])
            ctx = {"K": a.shape[-1], "scale": float(np.abs(a).max(initial=0) * np.abs(b).max(initial=0))}
            if "sm_matmul_q8p" in by_index[node.index].get("keys", ()):   # the CPU rounded x per row (tolerance.py)
                from ..cpu.layout import q8_activation_max

                ctx["x_levels"] = q8_activation_max(ctx["K"])
        elif node.op == "rotary":
            ctx = {"max_pos": node.params["pos_offset"] + node.out.shape[1]}
        try:
            err = tolerance.check(node.op, got, ref, **ctx)
        except AssertionError as e:
            raise AssertionError(f"op #{node.index}: {e}") from None
        report.append((node.index, node.op, err))
        store[node.out.storage] = got.reshape(-1).copy()  # the next ops see what the GPU computed
    return report
