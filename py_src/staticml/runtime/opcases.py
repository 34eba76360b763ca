"""One-op plans from plain-dict descriptions, so a kernel test or benchmark can be described natively,
shipped into Pyodide as data, and built identically on the numpy and WebGPU backends.

    case = {"op": "linear", "params": {"act": "gelu_erf"},
            "args": {"x": {"input": [17, 384]},                  # a plan input (data["x"])
                     "w": {"weight": [127, 384], "wdtype": "q8"}, # data["w.words"], data["w.scales"]
                     "bias": {"const": [127]}},                   # a constant (data["bias"])
            "data": {...bytes...}}
    plan, inputs = build(backend, case)   # the plan's output is "out"
    outs = await run_all(backend, cases)   # each case compiled, run once, released: its "out" bytes

Other arg forms: {"input"/"const": shape, "dtype": "i32"}, None, {"view": name, "slice": [dim, a, b],
"unflatten": [dim, [sizes]], "transpose": [a, b]} (a view of an earlier arg), {"list": [arg, ...]}.
"""
from . import ops
from .plan import Plan


def _arg(backend, plan, name, spec, made, data, inputs):
    if spec is None:
        return None
    if "list" in spec:
        return [_arg(backend, plan, f"{name}.{i}", s, made, data, inputs) for i, s in enumerate(spec["list"])]
    if "input" in spec:
        inputs[name] = data[name]
        return plan.input(name, tuple(spec["input"]), spec.get("dtype", "f32"))
    if "const" in spec:
        return backend.constant(name, tuple(spec["const"]), spec.get("dtype", "f32"), data[name])
    if "weight" in spec:
        N, K = spec["weight"]
        return backend.packed_weight(name, spec["wdtype"], N, K, data[f"{name}.words"], data.get(f"{name}.scales"))
    if "view" in spec:
        t = made[spec["view"]]
        if "slice" in spec:
            t = t.slice(*spec["slice"])
        if "unflatten" in spec:
            t = t.unflatten(spec["unflatten"][0], spec["unflatten"][1])
        if "transpose" in spec:
            t = t.transpose(*spec["transpose"])
        return t
    raise ValueError(f"case argument {name!r}: unknown form {sorted(spec)}")


def build(backend, case: dict):
    """(plan, inputs) for one case; the plan's single output is named "out"."""
    plan = Plan(case.get("name", case["op"]))
    made, inputs = {}, {}
    for name, spec in case["args"].items():
        made[name] = _arg(backend, plan, name, spec, made, case["data"], inputs)
    call = {k: v for k, v in made.items() if not case["args"][k] or not case["args"][k].get("helper")}
    fn = getattr(ops, case["op"])
    out = fn(*call.values(), **case.get("params", {})) if case.get("positional") else fn(**call, **case.get("params", {}))
    plan.output("out", ops.contiguous(out))
    return plan, inputs


async def run_all(backend, cases: list) -> list:
    """Each case built, compiled, run once and released on `backend`: the "out" bytes, in order."""
    outs = []
    for case in cases:
        plan, inputs = build(backend, case)
        prog = await backend.compile(plan)
        outs.append((await prog.run(inputs))["out"])
        prog.release()
    return outs
