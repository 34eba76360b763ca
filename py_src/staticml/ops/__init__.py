"""Kernel families: each `ops/<family>.py` pairs with `shaders/<family>.wgsl`.

A family module owns its uniform layout (a `Uniforms` subclass), its kernel keys, its workgroup
counts and a numpy `reference()` that is the definition of the op (numpy is imported lazily, since
the browser runtime has none).
"""
