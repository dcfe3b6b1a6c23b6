#version 300 es
// Bench workload (fovea-bench lightfield), pass 2 of a MobileNeRF-style deferred renderer: a
// full-screen pass that reads the 8 G-buffer features, adds the pixel's view direction and
// evaluates MobileNeRF's view-dependence MLP (11 -> 16 -> 16 -> 3, ReLU, sigmoid) with its
// weights read from a texture, as MobileNeRF's viewer does. The weights are synthetic.
precision highp float;
precision highp int;
precision highp sampler2D;

uniform sampler2D u_features0;   // G-buffer, RGBA8
uniform sampler2D u_features1;
uniform sampler2D u_weights;     // RGBA32F, 64 x 3: row 0 layer 1, row 1 layer 2, row 2 layer 3
uniform vec4 u_bias1[4];
uniform vec4 u_bias2[4];
uniform vec3 u_bias3;
uniform mat4 u_inverse_view_projection;
uniform vec3 u_eye;
uniform vec2 u_viewport_size;
uniform vec4 u_background;

layout(location = 0) out vec4 o_color;

void main() {
  ivec2 pixel = ivec2(gl_FragCoord.xy);
  vec4 f0 = texelFetch(u_features0, pixel, 0);
  if (f0.r == 0.0) {  // no surface: MobileNeRF shows the background here
    o_color = u_background;
    return;
  }
  vec4 f1 = texelFetch(u_features1, pixel, 0);
  vec2 ndc = gl_FragCoord.xy / u_viewport_size * 2.0 - 1.0;
  vec4 far_point = u_inverse_view_projection * vec4(ndc, 1.0, 1.0);
  vec3 d = normalize(far_point.xyz / far_point.w - u_eye);

  float inputs[11];
  inputs[0] = f0.r; inputs[1] = f0.g; inputs[2] = f0.b; inputs[3] = f0.a;
  inputs[4] = f1.r; inputs[5] = f1.g; inputs[6] = f1.b; inputs[7] = f1.a;
  inputs[8] = d.x; inputs[9] = d.y; inputs[10] = d.z;

  vec4 h1[4] = vec4[4](u_bias1[0], u_bias1[1], u_bias1[2], u_bias1[3]);
  for (int i = 0; i < 11; ++i)
    for (int j = 0; j < 4; ++j) h1[j] += inputs[i] * texelFetch(u_weights, ivec2(i * 4 + j, 0), 0);
  for (int j = 0; j < 4; ++j) h1[j] = max(h1[j], 0.0);

  vec4 h2[4] = vec4[4](u_bias2[0], u_bias2[1], u_bias2[2], u_bias2[3]);
  for (int i = 0; i < 16; ++i) {
    float x = h1[i / 4][i % 4];
    for (int j = 0; j < 4; ++j) h2[j] += x * texelFetch(u_weights, ivec2(i * 4 + j, 1), 0);
  }
  for (int j = 0; j < 4; ++j) h2[j] = max(h2[j], 0.0);

  vec3 o = u_bias3;
  for (int i = 0; i < 16; ++i) o += h2[i / 4][i % 4] * texelFetch(u_weights, ivec2(i, 2), 0).rgb;
  o_color = vec4(1.0 / (1.0 + exp(-o)), 1.0);
}
