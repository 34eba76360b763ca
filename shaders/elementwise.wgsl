// Kernel family: elementwise. `struct Uniforms` is prepended from py_src/staticml/ops/elementwise.py.
// b is either as long as a (u.nb == 0 or n) or repeats every u.nb values (broadcast over leading dims).
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;

// A 2-D grid of 1-D workgroups, so n may exceed 65535 * 256.
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn b_index(i: u32) -> u32 {
  return select(i, i % u.nb, u.nb != 0u);
}

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= u.n) { return; }
  out[i] = a[i] + b[b_index(i)];
}

@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= u.n) { return; }
  out[i] = a[i] * b[b_index(i)];
}
