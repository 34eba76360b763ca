"""One definition of a kernel's uniform block yields both its WGSL struct and its packed bytes.

    @dataclass(frozen=True)
    class AddUniforms(Uniforms):
        n: "u32"

    AddUniforms.wgsl_struct()   # 'struct Uniforms {\n  n: u32,\n  _pad0: u32, ...\n};'
    AddUniforms(n=5).pack()     # 16 little-endian bytes

Only 4-byte scalars (u32, i32, f32) are allowed, so WGSL's uniform layout rules reduce to
"fields in order, total padded to 16 bytes".
"""
import dataclasses
import struct

_FORMATS = {"u32": "I", "i32": "i", "f32": "f"}


class Uniforms:
    """Base for frozen dataclasses whose fields are annotated with the strings "u32", "i32" or "f32"."""

    @classmethod
    def _layout(cls):
        fields = dataclasses.fields(cls)
        for f in fields:
            if f.type not in _FORMATS:
                raise TypeError(f"{cls.__name__}.{f.name}: uniform fields must be 'u32', 'i32' or 'f32', not {f.type!r}")
        pad = (-len(fields)) % 4  # uniform structs are sized in multiples of 16 bytes
        return fields, pad

    @classmethod
    def wgsl_struct(cls, name: str = "Uniforms") -> str:
        fields, pad = cls._layout()
        lines = [f"  {f.name}: {f.type}," for f in fields] + [f"  _pad{i}: u32," for i in range(pad)]
        return "struct " + name + " {\n" + "\n".join(lines) + "\n};\n"

    @classmethod
    def nbytes(cls) -> int:
        fields, pad = cls._layout()
        return 4 * (len(fields) + pad)

    def pack(self) -> bytes:
        fields, pad = self._layout()
        fmt = "<" + "".join(_FORMATS[f.type] for f in fields) + "I" * pad
        return struct.pack(fmt, *(getattr(self, f.name) for f in fields), *([0] * pad))
