// Kernel family: copy. One thread per element of a view of up to 4 dims, read through the input
// strides and written through the output strides (elements). `struct Uniforms` is prepended from
// py_src/staticml/ops/copy.py. 32-bit words, so f32 and i32 tensors both copy bit-exactly.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (idx >= u.n) { return; }
  let i3 = idx % u.d3;
  let i2 = (idx / u.d3) % u.d2;
  let i1 = (idx / (u.d3 * u.d2)) % u.d1;
  let i0 = idx / (u.d3 * u.d2 * u.d1);
  let src = u.in_off + i0 * u.in_s0 + i1 * u.in_s1 + i2 * u.in_s2 + i3 * u.in_s3;
  let dst = u.out_off + i0 * u.out_s0 + i1 * u.out_s1 + i2 * u.out_s2 + i3 * u.out_s3;
  out[dst] = x[src];
}
