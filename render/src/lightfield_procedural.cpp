// The procedural light-field asset the tests build themselves: three components on the bake's
// patch atlas (docs/lightfield-asset.md, "How fovea's bake lays the atlas out"), analytic
// features at each texel's surface point, and an octahedral direction map.

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "fovea/render/lightfield_asset.h"

namespace fovea::render {
namespace {

constexpr double kDelta = 1.0 / 16.0;

enum Component { kCube = 0, kSphere = 1, kGround = 2 };

struct Triangle {
  glm::dvec3 corner[3];
  Component component;
};

void add_cube(std::vector<Triangle>& out, glm::dvec3 centre, double half) {
  glm::dvec3 v[8];
  for (int i = 0; i < 8; ++i)
    v[i] = centre + half * glm::dvec3(i & 4 ? 1 : -1, i & 2 ? 1 : -1, i & 1 ? 1 : -1);
  const int quads[6][4] = {{0, 1, 3, 2}, {4, 6, 7, 5}, {0, 4, 5, 1},
                           {2, 3, 7, 6}, {0, 2, 6, 4}, {1, 5, 7, 3}};
  for (const auto& q : quads) {
    // A pair splits its quad along the b-d diagonal, as make_test_asset.py does.
    out.push_back({{v[q[0]], v[q[1]], v[q[3]]}, kCube});
    out.push_back({{v[q[2]], v[q[3]], v[q[1]]}, kCube});
  }
}

void add_icosphere(std::vector<Triangle>& out, glm::dvec3 centre, double radius, int subdivisions) {
  const double t = (1.0 + std::sqrt(5.0)) / 2.0;
  std::vector<glm::dvec3> v = {{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0},
                               {0, -1, t}, {0, 1, t}, {0, -1, -t}, {0, 1, -t},
                               {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}};
  for (auto& p : v) p = glm::normalize(p);
  std::vector<std::array<int, 3>> faces = {
      {0, 11, 5},  {0, 5, 1},  {0, 1, 7},  {0, 7, 10}, {0, 10, 11}, {1, 5, 9}, {5, 11, 4},
      {11, 10, 2}, {10, 7, 6}, {7, 1, 8},  {3, 9, 4},  {3, 4, 2},   {3, 2, 6}, {3, 6, 8},
      {3, 8, 9},   {4, 9, 5},  {2, 4, 11}, {6, 2, 10}, {8, 6, 7},   {9, 8, 1}};
  for (int s = 0; s < subdivisions; ++s) {
    std::map<std::pair<int, int>, int> midpoints;
    auto midpoint = [&](int a, int b) {
      const auto key = std::minmax(a, b);
      auto found = midpoints.find(key);
      if (found != midpoints.end()) return found->second;
      v.push_back(glm::normalize(v[a] + v[b]));
      const int index = static_cast<int>(v.size()) - 1;
      midpoints.emplace(key, index);
      return index;
    };
    std::vector<std::array<int, 3>> finer;
    for (const auto& f : faces) {
      const int ab = midpoint(f[0], f[1]), bc = midpoint(f[1], f[2]), ca = midpoint(f[2], f[0]);
      finer.push_back({f[0], ab, ca});
      finer.push_back({f[1], bc, ab});
      finer.push_back({f[2], ca, bc});
      finer.push_back({ab, bc, ca});
    }
    faces = std::move(finer);
  }
  for (const auto& f : faces)
    out.push_back(
        {{centre + radius * v[f[0]], centre + radius * v[f[1]], centre + radius * v[f[2]]},
         kSphere});
}

std::uint8_t quantize(double value, float lo, float hi) {
  const double q = std::round((value - lo) / (double(hi) - double(lo)) * 255.0);
  return static_cast<std::uint8_t>(std::clamp(q, 0.0, 255.0));
}

// Per-channel ranges over every texel (unused ones hold 0), then the bytes.
void quantize_texture(const std::vector<double>& values, int channels, LightFieldTexture& out) {
  const size_t texels = values.size() / static_cast<size_t>(channels);
  out.lo.assign(static_cast<size_t>(channels), 0.0f);
  out.hi.assign(static_cast<size_t>(channels), 0.0f);
  for (int q = 0; q < channels; ++q) {
    double lo = values[static_cast<size_t>(q)], hi = lo;
    for (size_t t = 0; t < texels; ++t) {
      lo = std::min(lo, values[t * channels + q]);
      hi = std::max(hi, values[t * channels + q]);
    }
    out.lo[q] = static_cast<float>(lo);
    out.hi[q] = hi > lo ? static_cast<float>(hi) : static_cast<float>(lo) + 1.0f;
  }
  // Channel q lies in layer q / 4, RGBA index q % 4.
  out.texels.assign(static_cast<size_t>(out.bytes()), 0);
  const int per_layer = out.width * out.height;
  for (size_t t = 0; t < texels; ++t)
    for (int q = 0; q < channels; ++q)
      out.texels[(static_cast<size_t>(q / 4) * per_layer + t) * 4 + q % 4] =
          quantize(values[t * channels + q], out.lo[q], out.hi[q]);
}

// Octahedral texel centre -> world direction (the inverse map of the format's lookup).
glm::dvec3 octahedral_direction(int i, int j, int n, const glm::dmat3& r) {
  const glm::dvec2 p = glm::dvec2((i + 0.5) / n, (j + 0.5) / n) * 2.0 - 1.0;
  glm::dvec3 l(p, 1.0 - std::abs(p.x) - std::abs(p.y));
  if (l.z < 0.0)
    l = glm::dvec3((1.0 - std::abs(p.y)) * (p.x >= 0 ? 1.0 : -1.0),
                   (1.0 - std::abs(p.x)) * (p.y >= 0 ? 1.0 : -1.0), l.z);
  return glm::transpose(r) * glm::normalize(l);
}

}  // namespace

LightFieldAsset make_procedural_lightfield_asset(const ProceduralLightFieldOptions& options) {
  const int k = std::clamp(options.k / 4 * 4, 4, 64);
  const int P = std::max(2, options.patch);
  const int N = std::max(1, options.direction_resolution);

  // z is up, as in lego's frame: a cube and a ball standing on a ground square.
  std::vector<Triangle> triangles;
  add_cube(triangles, {-0.62, 0.12, 0.0}, 0.45);
  add_icosphere(triangles, {0.6, -0.1, 0.07}, 0.52, std::clamp(options.sphere_subdivisions, 0, 5));
  const glm::dvec3 g[4] = {
      {-1.5, -1.25, -0.5}, {1.5, -1.25, -0.5}, {1.5, 1.25, -0.5}, {-1.5, 1.25, -0.5}};
  triangles.push_back({{g[0], g[1], g[3]}, kGround});
  triangles.push_back({{g[2], g[3], g[1]}, kGround});

  // The patch atlas: pair p is a (P+1) x P block at column (p mod C)(P+1), row (p div C) P.
  const int T = static_cast<int>(triangles.size());
  const int pairs = (T + 1) / 2;
  int C = std::max(1, static_cast<int>(std::ceil(std::sqrt(pairs * P / (P + 1.0)))));
  C = std::min(C, fvlf::kMaxTextureSide / (P + 1));
  const int W = C * (P + 1), H = (pairs + C - 1) / C * P;

  LightFieldAsset asset;
  asset.name = "procedural";
  asset.description =
      "fovea's procedural test scene: a checkered cube, a banded ball and a "
      "ground square, with a view-dependent sheen";
  asset.provenance =
      "tool: fovea::render::make_procedural_lightfield_asset\nk: " + std::to_string(k) +
      "\npatch: " + std::to_string(P) + "\ndirection map: " + std::to_string(N);
  asset.k = k;
  asset.patch = static_cast<std::uint32_t>(P);
  asset.bias = {0.1f, -0.05f, 0.2f};
  asset.background = {1.0f, 1.0f, 1.0f, 1.0f};
  asset.dir_frame = {1, 0, 0, 0, -1, 0, 0, 0, -1};
  asset.camera = {.eye = {2.6f, -3.4f, 2.1f},
                  .target = {0.0f, 0.0f, 0.0f},
                  .up = {0.0f, 0.0f, 1.0f},
                  .fovy = 0.69f,
                  .near_plane = 0.1f,
                  .far_plane = 20.0f};
  asset.unshared = !options.indexed;

  std::vector<glm::dvec2> corner_uv(3 * static_cast<size_t>(T));
  for (int t = 0; t < T; ++t) {
    const int p = t / 2;
    const double ox = (p % C) * (P + 1.0), oy = (p / C) * double(P);
    const glm::dvec2 first[3] = {
        {kDelta, kDelta}, {P - 2 * kDelta, kDelta}, {kDelta, P - 2 * kDelta}};
    const glm::dvec2 second[3] = {
        {P + 1 - kDelta, P - kDelta}, {1 + 2 * kDelta, P - kDelta}, {P + 1 - kDelta, 2 * kDelta}};
    for (int c = 0; c < 3; ++c) {
      corner_uv[3 * t + c] = (t % 2 == 0 ? first[c] : second[c]) + glm::dvec2(ox, oy);
      asset.positions.push_back(glm::vec3(triangles[t].corner[c]));
      asset.uvs.push_back(glm::vec2(corner_uv[3 * t + c] / glm::dvec2(W, H)));
      asset.triangles.push_back(static_cast<std::uint32_t>(3 * t + c));
    }
  }
  asset.bounds_min = asset.bounds_max = asset.positions[0];
  for (const glm::vec3& p : asset.positions) {
    asset.bounds_min = glm::min(asset.bounds_min, p);
    asset.bounds_max = glm::max(asset.bounds_max, p);
  }

  // Position features at each texel's surface point (its triangle's affine uv map, inverted).
  std::vector<double> features(static_cast<size_t>(W) * H * 3 * k, 0.0);
  for (int j = 0; j < H; ++j)
    for (int i = 0; i < W; ++i) {
      const int p = (j / P) * C + i / (P + 1);
      const int a = i % (P + 1), b = j % P;
      const int t = a + b < P ? 2 * p : 2 * p + 1;
      if (i >= C * (P + 1) || t >= T) continue;
      const glm::dvec2 st(i + 0.5, j + 0.5);
      const glm::dvec2 u0 = corner_uv[3 * t], e1 = corner_uv[3 * t + 1] - u0,
                       e2 = corner_uv[3 * t + 2] - u0;
      const glm::dvec2 bary = glm::inverse(glm::dmat2(e1, e2)) * (st - u0);
      const Triangle& tri = triangles[t];
      const glm::dvec3 x = tri.corner[0] + bary.x * (tri.corner[1] - tri.corner[0]) +
                           bary.y * (tri.corner[2] - tri.corner[0]);
      glm::dvec3 base, sheen;
      if (tri.component == kCube) {
        const double checker = std::fmod(
            std::floor((x.x + 2) * 4.5) + std::floor((x.y + 2) * 4.5) + std::floor((x.z + 2) * 4.5),
            2.0);
        base = checker > 0.5 ? glm::dvec3(1.3, -0.6, -0.9) : glm::dvec3(-0.5, 0.4, 1.1);
        sheen = {0.9, 0.8, 0.5};
      } else if (tri.component == kSphere) {
        const glm::dvec3 r = x - glm::dvec3(0.6, -0.1, 0.07);
        base = {0.9 * std::sin(9.0 * r.z), 0.6 * std::cos(4.0 * std::atan2(r.y, r.x)),
                -0.2 + 0.8 * r.z};
        sheen = {1.4, 1.4, 1.4};
      } else {
        base = {0.4 + 0.3 * std::sin(3.0 * x.x), 0.3 + 0.3 * std::cos(2.0 * x.y), 0.1};
        sheen = {0.2, 0.2, 0.3};
      }
      double* f = &features[(static_cast<size_t>(j) * W + i) * 3 * k];
      for (int c = 0; c < 3; ++c) {
        f[c * k + 0] = base[c];
        // With beta_1..3 = d_local, these three make a sheen that follows the view.
        for (int m = 1; m < 4; ++m)
          f[c * k + m] = sheen[c] * (m == 3 ? -0.8 : 0.35) * (1 + 0.1 * c);
        for (int m = 4; m < k; ++m)
          f[c * k + m] = (0.6 / m) * std::cos(m * x.x + c) * std::sin(m * x.z - c + x.y);
      }
    }
  asset.atlas.width = W;
  asset.atlas.height = H;
  asset.atlas.layers = 3 * k / 4;
  quantize_texture(features, 3 * k, asset.atlas);

  // beta_0 = 1, beta_1..3 = the local view direction, then smooth terms.
  const glm::dmat3 r = glm::dmat3(asset.direction_frame());
  std::vector<double> beta(static_cast<size_t>(N) * N * k);
  for (int j = 0; j < N; ++j)
    for (int i = 0; i < N; ++i) {
      const glm::dvec3 d = octahedral_direction(i, j, N, r);
      const glm::dvec3 l = r * d;
      double* b = &beta[(static_cast<size_t>(j) * N + i) * k];
      b[0] = 1.0;
      b[1] = l.x;
      b[2] = l.y;
      b[3] = l.z;
      for (int m = 4; m < k; ++m) b[m] = std::cos((m - 2) * d.x) * std::sin((m - 3) * d.y + d.z);
    }
  asset.direction_map.width = asset.direction_map.height = N;
  asset.direction_map.layers = k / 4;
  quantize_texture(beta, k, asset.direction_map);
  return asset;
}

}  // namespace fovea::render
