#version 300 es
// Bench workload (fovea-bench lightfield), pass 1 of a MobileNeRF-style deferred renderer, built
// the way MobileNeRF's viewer is: rasterise the mesh and write 8 features per pixel into a
// G-buffer of two RGBA8 targets. The features are synthetic (the atlas's first two layers at the
// fragment's nearest texel): what is measured is the cost, not the picture. Byte 0 is kept for
// "no surface" so pass 2 can skip empty pixels as MobileNeRF's does.
precision highp float;
precision highp int;
precision highp sampler2DArray;

in highp vec3 v_ray;
in highp vec2 v_uv;
uniform sampler2DArray u_atlas;
uniform ivec2 u_atlas_size;

layout(location = 0) out vec4 o_features0;
layout(location = 1) out vec4 o_features1;

void main() {
  vec2 size = vec2(u_atlas_size);
  ivec2 texel = ivec2(clamp(floor(v_uv * size), vec2(0.0), size - 1.0));
  const float kLow = 1.0 / 255.0, kRange = 254.0 / 255.0;
  o_features0 = kLow + kRange * texelFetch(u_atlas, ivec3(texel, 0), 0);
  o_features1 = kLow + kRange * texelFetch(u_atlas, ivec3(texel, 1), 0);
}
