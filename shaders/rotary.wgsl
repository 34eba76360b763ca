// Kernel family: rotary. One thread per output value of x [B, T, H, D]; `struct Uniforms` is
// prepended from py_src/staticml/ops/rotary.py.
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// sin and cos with a 3-part Cody-Waite reduction to |r| <= pi/4 and Cephes' sinf/cosf polynomials
// (~1 ulp). WGSL only promises 2^-11 absolute error for sin/cos, and only inside [-pi, pi], which
// is far too loose for angles of hundreds of radians at late positions.
fn sincos(a: f32) -> vec2<f32> {
  let k = round(a * 0.6366197723675814);  // a / (pi/2)
  let r = ((a - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  let q = i32(k) & 3;
  if (q == 0) { return vec2<f32>(s, c); }
  if (q == 1) { return vec2<f32>(c, -s); }
  if (q == 2) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (idx >= u.n) { return; }
  let c = idx % u.D;
  if (c >= u.R) { out[idx] = x[idx]; return; }
  let t = (idx / (u.D * u.H)) % u.T;
  let half = u.R / 2u;
  let i = c % half;
  let freq = pow(u.theta, -2.0 * f32(i) / f32(u.R));
  let angle = f32(u.pos_offset + t) * freq;
  let sc = sincos(angle);
  let sn = sc.x;
  let cs = sc.y;
  if (c < half) {
    out[idx] = x[idx] * cs - x[idx + half] * sn;
  } else {
    out[idx] = x[idx] * cs + x[idx - half] * sn;
  }
}
