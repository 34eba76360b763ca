"""One uniform definition yields the WGSL struct and the bytes, laid out alike."""
import struct
from dataclasses import dataclass

import pytest

from staticml.ops.uniforms import Uniforms


@dataclass(frozen=True)
class Example(Uniforms):
    M: "u32"
    eps: "f32"
    offset: "i32"


def test_struct_text_and_bytes_agree():
    assert Example.wgsl_struct("P") == "struct P {\n  M: u32,\n  eps: f32,\n  offset: i32,\n  _pad0: u32,\n};\n"
    data = Example(M=7, eps=1e-5, offset=-3).pack()
    assert len(data) == Example.nbytes() == 16
    assert struct.unpack("<IfiI", data) == (7, pytest.approx(1e-5), -3, 0)


def test_only_4_byte_scalars_are_allowed():
    @dataclass(frozen=True)
    class Bad(Uniforms):
        x: "vec2<f32>"

    with pytest.raises(TypeError, match="must be 'u32', 'i32' or 'f32'"):
        Bad.wgsl_struct()
