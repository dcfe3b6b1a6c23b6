#version 300 es
// The flow demo's picture: the video frame and its colour-coded flow side by side (u_mode 0),
// or the flow laid over the frame (u_mode 1, u_blend of flow). Both textures hold rows bottom
// to top, as GL reads them, so v_uv samples them upright.
precision mediump float;

in vec2 v_uv;
uniform sampler2D u_frame;
uniform sampler2D u_flow;
uniform int u_mode;
uniform float u_blend;
out vec4 color;

void main() {
  if (u_mode == 0) {
    vec2 uv = vec2(fract(v_uv.x * 2.0), v_uv.y);
    color = v_uv.x < 0.5 ? texture(u_frame, uv) : texture(u_flow, uv);
  } else {
    vec3 frame = texture(u_frame, v_uv).rgb;
    color = vec4(mix(frame, texture(u_flow, v_uv).rgb, u_blend), 1.0);
  }
}
