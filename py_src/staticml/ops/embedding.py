"""Embedding gather with optional position and token-type adds (shaders/embedding.wgsl).

out[b, t, :] = table[ids[b, t]] + pos_table[pos_offset + t] + type_table[type_ids[b, t]].
An id outside the table yields NaN on the GPU (visible in debug mode) and an IndexError in numpy.
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import DUMMY, Dispatch, grid
from .uniforms import Uniforms

WORKGROUP = 256


@dataclass(frozen=True)
class EmbeddingUniforms(Uniforms):
    n: "u32"        # B * T * C
    T: "u32"
    C: "u32"
    V: "u32"        # rows of the token table
    has_pos: "u32"
    has_type: "u32"
    n_types: "u32"
    pos_offset: "u32"


def kernel_key() -> str:
    return "embedding_f32"


def source() -> str:
    return EmbeddingUniforms.wgsl_struct() + load_wgsl("embedding")


def encode(node, features=()) -> list:
    i = node.inputs
    B, T, C = node.out.shape
    tt = i["type_table"]
    u = EmbeddingUniforms(n=B * T * C, T=T, C=C, V=i["table"].shape[0], has_pos=int(i["pos_table"] is not None),
                          has_type=int(tt is not None), n_types=tt.shape[0] if tt is not None else 0,
                          pos_offset=node.params["pos_offset"])
    bufs = [i["ids"], i["table"]] + [DUMMY if i[k] is None else i[k] for k in ("pos_table", "type_ids", "type_table")]
    return [Dispatch(kernel_key(), source(), "main", u.pack(), [*bufs, node.out], grid(-(-u.n // WORKGROUP)))]


def reference(ids, table, pos_table=None, type_ids=None, type_table=None, pos_offset: int = 0):
    """ids [B, T] int -> [B, T, C] f32."""
    import numpy as np

    ids = np.asarray(ids)
    table = np.asarray(table, np.float32)
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise IndexError(f"token id out of range [0, {table.shape[0]}): min {ids.min()}, max {ids.max()}")
    out = table[ids].astype(np.float64)
    if pos_table is not None:
        T = ids.shape[1]
        out += np.asarray(pos_table, np.float64)[pos_offset:pos_offset + T][None]
    if type_table is not None:
        out += np.asarray(type_table, np.float64)[np.asarray(type_ids)]
    return out.astype(np.float32)
