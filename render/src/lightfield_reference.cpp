#include "fovea/render/lightfield_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

namespace fovea::render {
namespace {

constexpr int kLeafTriangles = 4;
constexpr int kMaxDepth = 48;

bool hits_box(const glm::dvec3& origin, const glm::dvec3& inverse_direction, const glm::dvec3& lo,
              const glm::dvec3& hi, double best) {
  double near = 0.0, far = best;
  for (int a = 0; a < 3; ++a) {
    double t0 = (lo[a] - origin[a]) * inverse_direction[a];
    double t1 = (hi[a] - origin[a]) * inverse_direction[a];
    if (t0 > t1) std::swap(t0, t1);
    // NaN (0 * inf on a slab's plane) never narrows the interval.
    if (t0 > near) near = t0;
    if (t1 < far) far = t1;
    if (near > far) return false;
  }
  return true;
}

// The octahedral texel of a world direction, in float, as shaders/lightfield.frag does.
glm::ivec2 direction_texel(const glm::mat3& frame, const glm::vec3& d, int n) {
  glm::vec3 l = frame * d;
  l /= std::abs(l.x) + std::abs(l.y) + std::abs(l.z);
  glm::vec2 p(l.x, l.y);
  if (l.z < 0.0f)
    p = glm::vec2((1.0f - std::abs(l.y)) * (l.x >= 0.0f ? 1.0f : -1.0f),
                  (1.0f - std::abs(l.x)) * (l.y >= 0.0f ? 1.0f : -1.0f));
  const glm::vec2 st = p * 0.5f + 0.5f;
  const float top = static_cast<float>(n - 1);
  return {static_cast<int>(std::clamp(std::floor(st.x * float(n)), 0.0f, top)),
          static_cast<int>(std::clamp(std::floor(st.y * float(n)), 0.0f, top))};
}

std::uint8_t to_unorm8(float value) {
  return static_cast<std::uint8_t>(std::lround(std::clamp(value, 0.0f, 1.0f) * 255.0f));
}

}  // namespace

LightFieldReference::LightFieldReference(const LightFieldAsset& asset) : asset_(asset) {
  const int triangles = asset.triangle_count();
  corners_.resize(3 * static_cast<size_t>(triangles));
  for (size_t i = 0; i < corners_.size(); ++i)
    corners_[i] = glm::dvec3(asset.positions[asset.triangles[i]]);
  order_.resize(static_cast<size_t>(triangles));
  for (int t = 0; t < triangles; ++t) order_[t] = t;
  nodes_.reserve(4 * static_cast<size_t>(triangles) / kLeafTriangles + 2);
  if (triangles > 0) build(0, triangles, 0);
}

int LightFieldReference::build(int begin, int end, int depth) {
  const int index = static_cast<int>(nodes_.size());
  nodes_.push_back({});
  auto centroid = [&](int t, int axis) {
    const size_t c = 3 * static_cast<size_t>(t);
    return corners_[c][axis] + corners_[c + 1][axis] + corners_[c + 2][axis];
  };
  glm::dvec3 lo(std::numeric_limits<double>::max()), hi(-std::numeric_limits<double>::max());
  glm::dvec3 centre_lo = lo, centre_hi = hi;
  for (int i = begin; i < end; ++i) {
    const size_t c = 3 * static_cast<size_t>(order_[i]);
    for (int k = 0; k < 3; ++k) {
      lo = glm::min(lo, corners_[c + k]);
      hi = glm::max(hi, corners_[c + k]);
    }
    const glm::dvec3 centre(centroid(order_[i], 0), centroid(order_[i], 1), centroid(order_[i], 2));
    centre_lo = glm::min(centre_lo, centre);
    centre_hi = glm::max(centre_hi, centre);
  }
  nodes_[index].lo = lo;
  nodes_[index].hi = hi;
  if (end - begin <= kLeafTriangles || depth >= kMaxDepth) {
    nodes_[index].first = begin;
    nodes_[index].count = end - begin;
    return index;
  }
  const glm::dvec3 extent = centre_hi - centre_lo;
  const int axis =
      extent.x >= extent.y && extent.x >= extent.z ? 0 : (extent.y >= extent.z ? 1 : 2);
  const int middle = (begin + end) / 2;
  std::nth_element(order_.begin() + begin, order_.begin() + middle, order_.begin() + end,
                   [&](int a, int b) { return centroid(a, axis) < centroid(b, axis); });
  const int left = build(begin, middle, depth + 1);
  const int right = build(middle, end, depth + 1);
  nodes_[index].left = left;
  nodes_[index].right = right;
  return index;
}

bool LightFieldReference::intersect(const glm::dvec3& origin, const glm::dvec3& direction,
                                    Hit& hit) const {
  if (nodes_.empty()) return false;
  const glm::dvec3 inverse_direction = 1.0 / direction;
  double best = std::numeric_limits<double>::infinity();
  int best_triangle = -1;
  glm::dvec2 best_uv(0.0);
  int stack[2 * kMaxDepth + 4];
  int top = 0;
  stack[top++] = 0;
  while (top > 0) {
    const Node& node = nodes_[stack[--top]];
    if (!hits_box(origin, inverse_direction, node.lo, node.hi, best)) continue;
    if (node.count == 0) {
      stack[top++] = node.right;
      stack[top++] = node.left;
      continue;
    }
    for (int i = node.first; i < node.first + node.count; ++i) {
      const size_t c = 3 * static_cast<size_t>(order_[i]);
      const glm::dvec3 e1 = corners_[c + 1] - corners_[c], e2 = corners_[c + 2] - corners_[c];
      const glm::dvec3 pvec = glm::cross(direction, e2);
      const double det = glm::dot(e1, pvec);
      if (det == 0.0 || !std::isfinite(det)) continue;
      // det < 0: the ray meets the clockwise side, which GL culls on one-sided triangles.
      if (det < 0.0 && static_cast<std::uint32_t>(order_[i]) < asset_.one_sided_triangles) continue;
      const double inverse = 1.0 / det;
      const glm::dvec3 tvec = origin - corners_[c];
      const double u = glm::dot(tvec, pvec) * inverse;
      if (u < 0.0 || u > 1.0) continue;
      const glm::dvec3 qvec = glm::cross(tvec, e1);
      const double v = glm::dot(direction, qvec) * inverse;
      if (v < 0.0 || u + v > 1.0) continue;
      const double t = glm::dot(e2, qvec) * inverse;
      if (t > 0.0 && t < best) {
        best = t;
        best_triangle = order_[i];
        best_uv = {u, v};
      }
    }
  }
  if (best_triangle < 0) return false;
  hit.triangle = best_triangle;
  hit.distance = best;
  hit.barycentric = {1.0 - best_uv.x - best_uv.y, best_uv.x, best_uv.y};
  return true;
}

glm::vec3 LightFieldReference::shade(const glm::vec3& x, const glm::vec2& st,
                                     const glm::vec3& eye) const {
  const LightFieldTexture& atlas = asset_.atlas;
  const LightFieldTexture& directions = asset_.direction_map;
  const int k4 = asset_.k / 4;
  const glm::ivec2 a(static_cast<int>(std::clamp(std::floor(st.x * float(atlas.width)), 0.0f,
                                                 float(atlas.width - 1))),
                     static_cast<int>(std::clamp(std::floor(st.y * float(atlas.height)), 0.0f,
                                                 float(atlas.height - 1))));
  const glm::vec3 d = glm::normalize(x - eye);
  const glm::ivec2 b = direction_texel(asset_.direction_frame(), d, directions.width);
  glm::vec3 z = asset_.bias;
  auto dequantise = [](const LightFieldTexture& t, int layer, const std::uint8_t* texel) {
    glm::vec4 v;
    for (int c = 0; c < 4; ++c) {
      const int q = 4 * layer + c;
      v[c] = t.lo[q] + (t.hi[q] - t.lo[q]) * (float(texel[c]) / 255.0f);
    }
    return v;
  };
  for (int m = 0; m < k4; ++m) {
    const glm::vec4 beta = dequantise(directions, m, directions.texel(m, b.x, b.y));
    for (int c = 0; c < 3; ++c) {
      const int layer = m + c * k4;
      z[c] += glm::dot(dequantise(atlas, layer, atlas.texel(layer, a.x, a.y)), beta);
    }
  }
  return 1.0f / (1.0f + glm::exp(-z));
}

ImageRgba8 LightFieldReference::render(const glm::mat4& view, const glm::mat4& projection,
                                       int width, int height, int threads) const {
  ImageRgba8 image(width, height);
  const glm::dmat4 clip_from_world = glm::dmat4(projection) * glm::dmat4(view);
  const glm::dmat4 world_from_clip = glm::inverse(clip_from_world);
  const glm::dvec3 eye = glm::dvec3(glm::inverse(glm::dmat4(view))[3]);
  const glm::vec4 background = asset_.background;
  auto rows = [&](int first, int step) {
    for (int y = first; y < height; y += step)
      for (int x = 0; x < width; ++x) {
        const glm::dvec4 ndc(2.0 * (x + 0.5) / width - 1.0, 1.0 - 2.0 * (y + 0.5) / height, 1.0,
                             1.0);
        const glm::dvec4 far = world_from_clip * ndc;
        const glm::dvec3 direction = glm::normalize(glm::dvec3(far) / far.w - eye);
        glm::vec4 colour = background;
        Hit hit;
        if (intersect(eye, direction, hit)) {
          const size_t c = 3 * static_cast<size_t>(hit.triangle);
          glm::dvec3 point(0.0);
          glm::dvec2 st(0.0);
          for (int k = 0; k < 3; ++k) {
            point += hit.barycentric[k] * glm::dvec3(asset_.positions[asset_.triangles[c + k]]);
            st += hit.barycentric[k] * glm::dvec2(asset_.uvs[asset_.triangles[c + k]]);
          }
          const glm::dvec4 clip = clip_from_world * glm::dvec4(point, 1.0);
          // GL keeps fragments inside -w <= z <= w (between the near and far planes).
          if (clip.w > 0.0 && std::abs(clip.z) <= clip.w)
            colour = glm::vec4(shade(glm::vec3(point), glm::vec2(st), glm::vec3(eye)), 1.0f);
        }
        std::uint8_t* out = image.pixel(x, y);
        for (int c = 0; c < 4; ++c) out[c] = to_unorm8(colour[c]);
      }
  };
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min(threads, std::max(1, height));
  if (threads == 1) {
    rows(0, 1);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(rows, t, threads);
    for (std::thread& thread : pool) thread.join();
  }
  return image;
}

ImageRgba8 LightFieldReference::render(const PinholeCamera& camera, double near_plane,
                                       double far_plane, int threads) const {
  return render(camera.view(), camera.projection(near_plane, far_plane), camera.width,
                camera.height, threads);
}

}  // namespace fovea::render
