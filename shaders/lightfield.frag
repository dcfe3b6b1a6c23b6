#version 300 es
// The light-field shader (issue 4, "Re-ReND"; docs/lightfield-asset.md, "Shading"):
//   colour = sigmoid(bias + sum_j [u_j(x), v_j(x), w_j(x)] * beta_j(d))
// with nearest texelFetch lookups in the position atlas (3k/4 RGBA8 layers) and the
// octahedral direction map (k/4 layers), dequantised as lo + (hi - lo) * texel.
//
// The renderer defines LF_K4 (k / 4), LF_ATLAS_TILED / LF_DIRECTIONS_TILED for textures split
// into tiles (a side above GL_MAX_TEXTURE_SIZE), and LF_PASS:
//   0  forward: each mesh fragment finds its two texels and shades itself;
//   1  texel pass: mesh fragments write their atlas and direction texels (and depth) only;
//   2  resolve: a full-screen pass shades each pixel once from the texel pass's output.
// 1 + 2 give the same picture as 0 (the same integer texels, the same sum), but run the sum
// once per pixel instead of once per overlapping or pixel-sized triangle. The defaults below
// let the file compile on its own.
#ifndef LF_K4
#define LF_K4 8
#endif
#ifndef LF_ATLAS_TILED
#define LF_ATLAS_TILED 0
#endif
#ifndef LF_DIRECTIONS_TILED
#define LF_DIRECTIONS_TILED 0
#endif
#ifndef LF_PASS
#define LF_PASS 0
#endif
precision highp float;
precision highp int;
precision highp sampler2DArray;
precision highp usampler2D;
precision highp sampler2D;

uniform sampler2DArray u_atlas;       // f_{c,j}: layer c * K4 + j / 4, channel j % 4
uniform sampler2DArray u_directions;  // beta_j: layer j / 4, channel j % 4
uniform vec4 u_atlas_lo[3 * LF_K4];
uniform vec4 u_atlas_scale[3 * LF_K4];  // hi - lo
uniform vec4 u_directions_lo[LF_K4];
uniform vec4 u_directions_scale[LF_K4];
uniform vec3 u_bias;
uniform mat3 u_direction_frame;  // R: d_local = R * d_world
uniform ivec2 u_atlas_size;      // W, H of the whole atlas
uniform int u_directions_size;   // N
// Tiled textures: tile width, tile height, tiles per row (layer of tile t = t * L + layer).
uniform ivec3 u_atlas_tiling;
uniform ivec3 u_directions_tiling;

#if LF_PASS == 2
uniform usampler2D u_texels;     // the texel pass's output: atlas i, j, direction i, j + 1
uniform sampler2D u_depth;       // and its depth
uniform ivec2 u_viewport_origin;
#else
in highp vec3 v_ray;  // x - e, world space
in highp vec2 v_uv;   // atlas coordinates (s, t)
#endif

#if LF_PASS == 1
layout(location = 0) out uvec4 o_texels;
#else
layout(location = 0) out vec4 o_color;
#endif

// ivec2(clamp(floor(s * W), 0, W - 1), clamp(floor(t * H), 0, H - 1)).
ivec2 atlas_texel(vec2 uv) {
  vec2 size = vec2(u_atlas_size);
  return ivec2(clamp(floor(uv * size), vec2(0.0), size - 1.0));
}

// The octahedral map's texel of d = normalize(ray), in the frame R.
ivec2 direction_texel(vec3 ray) {
  vec3 l = u_direction_frame * normalize(ray);
  l /= abs(l.x) + abs(l.y) + abs(l.z);
  vec2 p = l.xy;
  if (l.z < 0.0) {
    vec2 sgn = vec2(l.x >= 0.0 ? 1.0 : -1.0, l.y >= 0.0 ? 1.0 : -1.0);
    p = (1.0 - abs(l.yx)) * sgn;
  }
  float n = float(u_directions_size);
  return ivec2(clamp(floor((p * 0.5 + 0.5) * n), vec2(0.0), vec2(n - 1.0)));
}

// The array coordinate of texel `texel` in layer 0 of a (possibly tiled) section with
// `layers` layers per tile.
ivec3 locate(ivec2 texel, ivec3 tiling, int layers, bool tiled) {
  if (!tiled) return ivec3(texel, 0);
  ivec2 tile = texel / tiling.xy;
  return ivec3(texel - tile * tiling.xy, (tile.y * tiling.z + tile.x) * layers);
}

vec3 shade(ivec2 atlas_texel, ivec2 direction_texel) {
  ivec3 a = locate(atlas_texel, u_atlas_tiling, 3 * LF_K4, LF_ATLAS_TILED != 0);
  ivec3 b = locate(direction_texel, u_directions_tiling, LF_K4, LF_DIRECTIONS_TILED != 0);
  vec3 z = u_bias;
  for (int m = 0; m < LF_K4; ++m) {
    vec4 beta = u_directions_lo[m] +
                u_directions_scale[m] * texelFetch(u_directions, b + ivec3(0, 0, m), 0);
    z.r += dot(u_atlas_lo[m] + u_atlas_scale[m] * texelFetch(u_atlas, a + ivec3(0, 0, m), 0),
               beta);
    z.g += dot(u_atlas_lo[m + LF_K4] +
                   u_atlas_scale[m + LF_K4] * texelFetch(u_atlas, a + ivec3(0, 0, m + LF_K4), 0),
               beta);
    z.b += dot(u_atlas_lo[m + 2 * LF_K4] + u_atlas_scale[m + 2 * LF_K4] *
                   texelFetch(u_atlas, a + ivec3(0, 0, m + 2 * LF_K4), 0),
               beta);
  }
  return 1.0 / (1.0 + exp(-z));
}

void main() {
#if LF_PASS == 0
  o_color = vec4(shade(atlas_texel(v_uv), direction_texel(v_ray)), 1.0);
#elif LF_PASS == 1
  ivec2 d = direction_texel(v_ray);
  o_texels = uvec4(uvec2(atlas_texel(v_uv)), uint(d.x), uint(d.y) + 1u);
#else
  ivec2 pixel = ivec2(gl_FragCoord.xy) - u_viewport_origin;
  uvec4 texels = texelFetch(u_texels, pixel, 0);
  if (texels.w == 0u) discard;  // no light-field surface here
  gl_FragDepth = texelFetch(u_depth, pixel, 0).r;
  o_color = vec4(shade(ivec2(texels.xy), ivec2(int(texels.z), int(texels.w) - 1)), 1.0);
#endif
}
