#version 300 es
// Light-field mesh (issue 4, docs/lightfield-asset.md): world positions and atlas coordinates
// pass through; the view ray x - e is interpolated so the fragment shader can take
// d = normalize(x - e) at the surface point (the same vector as interpolating x, since e is
// constant per eye).
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec2 a_uv;

uniform mat4 u_view_projection;
uniform vec3 u_eye;

out highp vec3 v_ray;
out highp vec2 v_uv;
// The depth pre-pass and the shading pass must compute the same depths.
invariant gl_Position;

void main() {
  v_ray = a_position - u_eye;
  v_uv = a_uv;
  gl_Position = u_view_projection * vec4(a_position, 1.0);
}
