#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace fovea::render {

// The GL features fovea's renderers choose between at run time.
struct GlCapabilities {
  bool multiview = false;        // GL_OVR_multiview: both eyes in one pass
  bool multiview2 = false;       // GL_OVR_multiview2: multiview beyond gl_Position
  bool timer_queries = false;    // GL_EXT_disjoint_timer_query: GPU-side timings
  bool compute_shaders = false;  // OpenGL ES 3.1+
  int max_texture_size = 0;
  int max_array_texture_layers = 0;
  int max_samples = 0;
};

struct ContextInfo {
  std::string vendor;
  std::string renderer;
  std::string version;
  std::string shading_language_version;
  int major = 0;
  int minor = 0;
  GlCapabilities caps;
  std::vector<std::string> extensions;

  bool has_extension(std::string_view name) const;
  // llvmpipe, softpipe, SwiftShader: the "GPU" is this CPU.
  bool is_software_renderer() const;
  // One line: "renderer (vendor), version, max texture N, multiview yes/no, ...".
  std::string summary() const;
};

// Reads the current context's strings, limits and extensions.
ContextInfo query_context_info();

}  // namespace fovea::render
