#version 300 es
// Bench workload: the ceiling of a light-field shader. Each pixel makes K nearest RGBA8 fetches at
// scattered texels, dots them with per-term weights and squashes the sum with a sigmoid.
precision highp float;
precision highp int;

in vec2 v_uv;
uniform highp sampler2D u_features;
uniform int u_fetches;
uniform vec4 u_weights[8];

layout(location = 0) out vec4 o_color;

void main() {
  // The feature texture is a power of two on a side, so wrapping is a mask, as in an atlas.
  ivec2 size = textureSize(u_features, 0);
  ivec2 wrap = size - 1;
  ivec2 base = ivec2(v_uv * vec2(size));
  vec4 sum = vec4(0.0);
  for (int k = 0; k < u_fetches; ++k) {
    // Neighbouring pixels stay neighbours per fetch (like atlas lookups); fetches jump apart.
    ivec2 texel = (base + ivec2(k * 97, k * 61)) & wrap;
    sum += texelFetch(u_features, texel, 0) * u_weights[k & 7];
  }
  o_color = vec4(1.0 / (1.0 + exp(-(sum.rgb - 0.5 * sum.a))), 1.0);
}
