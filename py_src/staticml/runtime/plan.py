"""A Plan is a recorded forward pass: named inputs, a list of op nodes, named outputs.

Model code records it once per shape bucket through `staticml.runtime.ops`; a backend compiles it
(`await backend.compile(plan)`) and replays it per call. Every node writes exactly one fresh Storage,
so a backend can see each intermediate's lifetime and reuse buffers.
"""
from dataclasses import dataclass, field

from .tensor import ITEMSIZE, Storage, Tensor, Weight


@dataclass(eq=False)
class Node:
    op: str                 # the op's name, as listed in ops/README.md
    inputs: dict            # name -> Tensor | Weight | None
    params: dict            # plain ints / floats / strings
    out: Tensor
    index: int = 0

    def tensors(self):
        """Every Tensor this node reads (a Weight contributes its words and scales)."""
        for v in self.inputs.values():
            if isinstance(v, Weight):
                yield v.words
                if v.scales is not None:
                    yield v.scales
            elif isinstance(v, (list, tuple)):
                yield from v
            elif v is not None:
                yield v


@dataclass(eq=False)
class Plan:
    name: str = "plan"
    inputs: dict = field(default_factory=dict)   # name -> Tensor
    outputs: dict = field(default_factory=dict)  # name -> Tensor
    nodes: list = field(default_factory=list)

    def input(self, name: str, shape, dtype: str = "f32") -> Tensor:
        """A tensor whose values are given at each run (token ids, masks, ...)."""
        if name in self.inputs:
            raise ValueError(f"plan {self.name!r} already has an input named {name!r}")
        n = 1
        for d in shape:
            n *= d
        t = Tensor(Storage(n * ITEMSIZE[dtype], "input", name), shape, dtype, plan=self)
        self.inputs[name] = t
        return t

    def output(self, name: str, tensor: Tensor) -> None:
        """Mark a tensor to be read back after each run (it must be contiguous)."""
        if tensor.plan is not self:
            raise ValueError(f"output {name!r} was not computed by plan {self.name!r}")
        if not tensor.is_contiguous:
            raise ValueError(f"output {name!r} is a strided view; pass ops.contiguous(t)")
        self.outputs[name] = tensor

    def add(self, op: str, inputs: dict, params: dict, shape, dtype: str = "f32") -> Tensor:
        n = 1
        for d in shape:
            n *= d
        out = Tensor(Storage(n * ITEMSIZE[dtype], "temp", f"{op}#{len(self.nodes)}"), shape, dtype, plan=self)
        node = Node(op, inputs, params, out, len(self.nodes))
        out.node = node
        self.nodes.append(node)
        return out

    def released_after(self) -> list:
        """Per node, the intermediates (temp Storages) that no later node reads and no output needs: a
        backend may reuse their memory once that node has run."""
        last_use = {}
        for node in self.nodes:
            for t in node.tensors():
                last_use[t.storage] = node.index
        for t in self.outputs.values():
            last_use[t.storage] = len(self.nodes)   # read back after the run
        released = []
        for node in self.nodes:
            touched = {id(x.storage): x.storage for x in [*node.tensors(), node.out]}.values()
            released.append([s for s in touched if s.kind == "temp" and last_use.get(s, node.index) == node.index])
        return released

    def summary(self) -> str:
        return "\n".join(f"{n.index:3d} {n.op:<14} -> {list(n.out.shape)} {n.params}" for n in self.nodes)


def plan_of(*values) -> Plan:
    """The plan that the activations among `values` belong to (exactly one)."""
    plans = {id(v.plan): v.plan for v in values if isinstance(v, Tensor) and v.plan is not None}
    if len(plans) != 1:
        raise ValueError("an op needs activations of exactly one plan: create inputs with plan.input(...) and "
                         f"weights with backend.weight(...) / backend.constant(...) (got {len(plans)} plans)")
    return next(iter(plans.values()))
