"""The CPU backend: WebAssembly SIMD kernels (shaders/cpu/*.c) driven from Python through
site/cpu_glue.js (registered in Pyodide as `staticml_cpu`).

- `layout`  : byte sizes and strides of every weight dtype (pure Python, runs in the browser).
- `kernels` : `CpuKernels`, one method per op; pointers into the wasm memory are plain ints.
- `pack`    : numpy packers used at convert time (native only; imports numpy).
"""
