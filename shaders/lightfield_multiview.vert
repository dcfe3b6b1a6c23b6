#version 300 es
// lightfield.vert for both eyes in one pass (GL_OVR_multiview2): the view and the eye
// position come from gl_ViewID_OVR. Without the extension it still compiles (as eye 0), so the
// shader test can check it everywhere; fovea uses it only where the extension exists.
#extension GL_OVR_multiview2 : enable
#ifdef GL_OVR_multiview2
layout(num_views = 2) in;
#define LF_VIEW int(gl_ViewID_OVR)
#else
#define LF_VIEW 0
#endif
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec2 a_uv;

uniform mat4 u_view_projections[2];
uniform vec3 u_eyes[2];

out highp vec3 v_ray;
out highp vec2 v_uv;
// The depth pre-pass and the shading pass must compute the same depths.
invariant gl_Position;

void main() {
  v_ray = a_position - u_eyes[LF_VIEW];
  v_uv = a_uv;
  gl_Position = u_view_projections[LF_VIEW] * vec4(a_position, 1.0);
}
