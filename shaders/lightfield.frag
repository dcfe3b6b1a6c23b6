#version 300 es
// The light-field shader (issue 4, "Re-ReND"; docs/lightfield-asset.md, "Shading"):
//   colour = sigmoid(bias + sum_j [u_j(x), v_j(x), w_j(x)] * beta_j(d))
// with nearest texelFetch lookups in the position atlas (3k/4 RGBA8 layers) and the
// octahedral direction map (k/4 layers), dequantised as lo + (hi - lo) * texel.
// The renderer defines LF_K4 (k / 4) and, for textures split into tiles because a side
// exceeds GL_MAX_TEXTURE_SIZE, LF_ATLAS_TILED / LF_DIRECTIONS_TILED; the defaults below let
// the file compile on its own.
#ifndef LF_K4
#define LF_K4 8
#endif
#ifndef LF_ATLAS_TILED
#define LF_ATLAS_TILED 0
#endif
#ifndef LF_DIRECTIONS_TILED
#define LF_DIRECTIONS_TILED 0
#endif
precision highp float;
precision highp int;
precision highp sampler2DArray;

in highp vec3 v_ray;
in highp vec2 v_uv;

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

layout(location = 0) out vec4 o_color;

// The array coordinate of texel `texel` in layer 0 of a (possibly tiled) section with
// `layers` layers per tile.
ivec3 locate(ivec2 texel, ivec3 tiling, int layers, bool tiled) {
  if (!tiled) return ivec3(texel, 0);
  ivec2 tile = texel / tiling.xy;
  return ivec3(texel - tile * tiling.xy, (tile.y * tiling.z + tile.x) * layers);
}

void main() {
  // Atlas texel: ivec2(clamp(floor(s * W), 0, W - 1), clamp(floor(t * H), 0, H - 1)).
  vec2 atlas_size = vec2(u_atlas_size);
  ivec2 atlas_texel = ivec2(clamp(floor(v_uv * atlas_size), vec2(0.0), atlas_size - 1.0));
  ivec3 a = locate(atlas_texel, u_atlas_tiling, 3 * LF_K4, LF_ATLAS_TILED != 0);

  // Direction texel: octahedral map of R * d.
  vec3 l = u_direction_frame * normalize(v_ray);
  l /= abs(l.x) + abs(l.y) + abs(l.z);
  vec2 p = l.xy;
  if (l.z < 0.0) {
    vec2 sgn = vec2(l.x >= 0.0 ? 1.0 : -1.0, l.y >= 0.0 ? 1.0 : -1.0);
    p = (1.0 - abs(l.yx)) * sgn;
  }
  float n = float(u_directions_size);
  ivec2 direction_texel = ivec2(clamp(floor((p * 0.5 + 0.5) * n), vec2(0.0), vec2(n - 1.0)));
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
  o_color = vec4(1.0 / (1.0 + exp(-z)), 1.0);
}
