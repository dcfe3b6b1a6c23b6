#version 300 es
// The light-field shader (issue 4, "Re-ReND"; docs/lightfield-asset.md, "Shading"):
//   colour = sigmoid(bias + sum_j [u_j(x), v_j(x), w_j(x)] * beta_j(d))
// with nearest texelFetch lookups in the position atlas (3k/4 RGBA8 layers) and the
// octahedral direction map (k/4 layers), dequantised as lo + (hi - lo) / 255 * byte.
//
// The renderer uploads each section's RGBA8 layers packed four to an RGBA32UI texel (layer
// 4p + q is word q of packed texel p, R in the low byte): one fetch brings 16 bytes, so k = 32
// takes 6 + 2 fetches a pixel instead of 24 + 8. The P packed texels of one section texel lie
// side by side in a W x H block of one texture (packed texel p at (p % W, p / W)), so a pixel's
// fetches share cache lines. The bytes become floats through half-float bit patterns
// (unpack_bytes; GLSL ES 3.00 has no unpackUnorm4x8).
//
// The renderer defines LF_K4 (k / 4), LF_ATLAS_TILED / LF_DIRECTIONS_TILED for textures split
// into tiles (a side above GL_MAX_TEXTURE_SIZE), LF_*_BLOCK_WIDTH / _HEIGHT, and LF_PASS:
//   0  forward: each mesh fragment finds its two texels and shades itself;
//   1  texel pass: mesh fragments write their atlas texel (and depth) only;
//   2  resolve: a full-screen pass finds each pixel's view direction from its depth and shades
//      it once from the texel pass's output.
// 1 + 2 give the same picture as 0 (the same integer texels, the same sum), but run the sum
// and the direction's octahedral mapping once per pixel instead of once per overlapping or
// pixel-sized triangle: the mesh pass is the costly one on llvmpipe, where each tiny triangle
// shades at least a 4x4 block. The defaults below let the file compile on its own.
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
// The blocks of packed texels (LightFieldTextureLayout); the defaults are k = 32's.
#ifndef LF_ATLAS_BLOCK_WIDTH
#define LF_ATLAS_BLOCK_WIDTH 3
#define LF_ATLAS_BLOCK_HEIGHT 2
#endif
#ifndef LF_DIRECTIONS_BLOCK_WIDTH
#define LF_DIRECTIONS_BLOCK_WIDTH 1
#define LF_DIRECTIONS_BLOCK_HEIGHT 2
#endif
// RGBA32UI texels per texel of each section.
#define LF_ATLAS_PACKED ((3 * LF_K4 + 3) / 4)
#define LF_DIRECTIONS_PACKED ((LF_K4 + 3) / 4)
precision highp float;
precision highp int;
precision highp usampler2DArray;
precision highp usampler2D;
precision highp sampler2D;

// f_{c,j}: RGBA8 layer l = c * K4 + j / 4, channel j % 4, is byte j % 4 of word l % 4 of
// packed texel l / 4.
uniform usampler2DArray u_atlas;
uniform usampler2DArray u_directions;  // beta_j: RGBA8 layer j / 4, channel j % 4, packed alike

// The asset's fixed values. The renderer declares them as constants before this text (and
// defines LF_CONSTANTS), since llvmpipe reloads uniforms in every pixel block; compiled on its
// own, the file declares them as uniforms.
#ifndef LF_CONSTANTS
uniform vec4 lf_atlas_lo[3 * LF_K4];     // lo - 1024 (hi - lo) / 255 (see unpack_bytes)
uniform vec4 lf_atlas_scale[3 * LF_K4];  // (hi - lo) / 255
uniform vec4 lf_directions_lo[LF_K4];  // likewise
uniform vec4 lf_directions_scale[LF_K4];
uniform vec3 lf_bias;
uniform mat3 lf_direction_frame;  // R: d_local = R * d_world
uniform ivec2 lf_atlas_size;      // W, H of the whole atlas
uniform int lf_directions_size;   // N
// Tiled textures: tile width, tile height (section texels), tiles per row (tile t is array
// layer t).
uniform ivec3 lf_atlas_tiling;
uniform ivec3 lf_directions_tiling;
#endif

#if LF_PASS == 2
uniform usampler2D u_texels;  // the texel pass's output: atlas i, j
uniform sampler2D u_depth;    // and its depth (1: no surface)
uniform vec4 u_viewport;      // x, y, width, height
uniform vec2 u_depth_range;   // glDepthRangef's near, far
uniform mat4 u_inverse_projection;
uniform mat3 u_camera_to_world;  // the inverse view's rotation
#else
in highp vec3 v_ray;  // x - e, world space
in highp vec2 v_uv;   // atlas coordinates (s, t)
#endif

#if LF_PASS == 1
layout(location = 0) out uvec2 o_texels;
#else
layout(location = 0) out vec4 o_color;
#endif

// ivec2(clamp(floor(s * W), 0, W - 1), clamp(floor(t * H), 0, H - 1)).
ivec2 atlas_texel(vec2 uv) {
  vec2 size = vec2(lf_atlas_size);
  return ivec2(clamp(floor(uv * size), vec2(0.0), size - 1.0));
}

// The octahedral map's texel of d = normalize(ray), in the frame R.
ivec2 direction_texel(vec3 ray) {
  vec3 l = lf_direction_frame * normalize(ray);
  l /= abs(l.x) + abs(l.y) + abs(l.z);
  vec2 p = l.xy;
  if (l.z < 0.0) {
    vec2 sgn = vec2(l.x >= 0.0 ? 1.0 : -1.0, l.y >= 0.0 ? 1.0 : -1.0);
    p = (1.0 - abs(l.yx)) * sgn;
  }
  float n = float(lf_directions_size);
  return ivec2(clamp(floor((p * 0.5 + 0.5) * n), vec2(0.0), vec2(n - 1.0)));
}

// The array coordinate of the first packed texel of section texel `texel` (its block's corner)
// in a (possibly tiled) section with blocks `block` wide and `LF_*_PACKED / block` high.
ivec3 locate(ivec2 texel, ivec3 tiling, ivec2 block, bool tiled) {
  if (!tiled) return ivec3(texel * block, 0);
  ivec2 tile = texel / tiling.xy;
  return ivec3((texel - tile * tiling.xy) * block, tile.y * tiling.z + tile.x);
}

// The four bytes q of one RGBA8 texel, R first, as floats 1024 + q: each byte goes into the
// mantissa of the half float 1024 (0x6400), two at a time, and unpackHalf2x16 converts them
// exactly. Three integer ops and two conversions per word instead of four shifts, masks and
// int-to-float conversions (a slow path on NVIDIA); the renderer's offsets take 1024 s off lo,
// so lo + s q = offset + s (1024 + q), one fma as before.
vec4 unpack_bytes(uint word) {
  vec2 even = unpackHalf2x16((word & 0x00ff00ffu) | 0x64006400u);
  vec2 odd = unpackHalf2x16(((word >> 8u) & 0x00ff00ffu) | 0x64006400u);
  return vec4(even.x, odd.x, even.y, odd.y);
}

// The packed words of the pixel's atlas texel and direction texel, sized for k = 64.
uvec4 lf_f[12];
uvec4 lf_g[4];

// z += term m of the sum: beta_m from the direction words, dotted with the three colour
// channels' features from the atlas words. Called with constant m only.
void add_term(inout vec3 z, int m) {
  vec4 beta = lf_directions_lo[m] + lf_directions_scale[m] * unpack_bytes(lf_g[m / 4][m % 4]);
  int r = m, g = m + LF_K4, b = m + 2 * LF_K4;
  z.r += dot(lf_atlas_lo[r] + lf_atlas_scale[r] * unpack_bytes(lf_f[r / 4][r % 4]), beta);
  z.g += dot(lf_atlas_lo[g] + lf_atlas_scale[g] * unpack_bytes(lf_f[g / 4][g % 4]), beta);
  z.b += dot(lf_atlas_lo[b] + lf_atlas_scale[b] * unpack_bytes(lf_f[b / 4][b % 4]), beta);
}

// Unrolled by hand: Mesa keeps loops over these arrays rolled, and then indexes the constants
// and the words per lane, which made llvmpipe's shading 10x slower. Each line is compiled away
// where its index is past the section's size. Packed texel p lies at (p % W, p / W) in its
// block.
#define LF_FETCH_ATLAS(p)                                                                    \
  if (p < LF_ATLAS_PACKED)                                                                   \
    lf_f[p] = texelFetch(u_atlas,                                                            \
                         a + ivec3(p % LF_ATLAS_BLOCK_WIDTH, p / LF_ATLAS_BLOCK_WIDTH, 0), 0);
#define LF_FETCH_DIRECTIONS(p)                                                               \
  if (p < LF_DIRECTIONS_PACKED)                                                              \
    lf_g[p] = texelFetch(                                                                    \
        u_directions,                                                                        \
        b + ivec3(p % LF_DIRECTIONS_BLOCK_WIDTH, p / LF_DIRECTIONS_BLOCK_WIDTH, 0), 0);
#define LF_TERM(m) \
  if (m < LF_K4) add_term(z, m);

vec3 shade(ivec2 atlas_texel, ivec2 direction_texel) {
  ivec3 a = locate(atlas_texel, lf_atlas_tiling,
                   ivec2(LF_ATLAS_BLOCK_WIDTH, LF_ATLAS_BLOCK_HEIGHT), LF_ATLAS_TILED != 0);
  ivec3 b = locate(direction_texel, lf_directions_tiling,
                   ivec2(LF_DIRECTIONS_BLOCK_WIDTH, LF_DIRECTIONS_BLOCK_HEIGHT),
                   LF_DIRECTIONS_TILED != 0);
  // All fetches first, so they are in flight together.
  LF_FETCH_ATLAS(0) LF_FETCH_ATLAS(1) LF_FETCH_ATLAS(2) LF_FETCH_ATLAS(3)
  LF_FETCH_ATLAS(4) LF_FETCH_ATLAS(5) LF_FETCH_ATLAS(6) LF_FETCH_ATLAS(7)
  LF_FETCH_ATLAS(8) LF_FETCH_ATLAS(9) LF_FETCH_ATLAS(10) LF_FETCH_ATLAS(11)
  LF_FETCH_DIRECTIONS(0) LF_FETCH_DIRECTIONS(1) LF_FETCH_DIRECTIONS(2) LF_FETCH_DIRECTIONS(3)
  vec3 z = lf_bias;
  LF_TERM(0) LF_TERM(1) LF_TERM(2) LF_TERM(3) LF_TERM(4) LF_TERM(5) LF_TERM(6) LF_TERM(7)
  LF_TERM(8) LF_TERM(9) LF_TERM(10) LF_TERM(11) LF_TERM(12) LF_TERM(13) LF_TERM(14) LF_TERM(15)
  return 1.0 / (1.0 + exp(-z));
}

void main() {
#if LF_PASS == 0
  o_color = vec4(shade(atlas_texel(v_uv), direction_texel(v_ray)), 1.0);
#elif LF_PASS == 1
  o_texels = uvec2(atlas_texel(v_uv));
#else
  vec2 window = gl_FragCoord.xy - u_viewport.xy;
  ivec2 pixel = ivec2(window);
  // The texel pass clears only depth: depth 1 (the clear value, which GL_LESS never writes)
  // is no light-field surface here, and the texels there are stale.
  float depth = texelFetch(u_depth, pixel, 0).r;
  uvec2 texel = texelFetch(u_texels, pixel, 0).xy;
  if (depth == 1.0) discard;
  gl_FragDepth = depth;
  // The surface point x relative to the eye e, from the pixel centre and depth: x - e in
  // camera space, then in world space. The same ray as the mesh pass's interpolated x - e.
  vec3 ndc = vec3(window / u_viewport.zw,
                  (depth - u_depth_range.x) / (u_depth_range.y - u_depth_range.x)) * 2.0 - 1.0;
  vec4 camera = u_inverse_projection * vec4(ndc, 1.0);
  vec3 ray = u_camera_to_world * (camera.xyz / camera.w);
  o_color = vec4(shade(ivec2(texel), direction_texel(ray)), 1.0);
#endif
}
