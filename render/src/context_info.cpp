#include "fovea/render/context_info.h"

#include <algorithm>
#include <cstdio>

#include "fovea/render/gl.h"

namespace fovea::render {
namespace {

std::string gl_string(GLenum name) {
  const GLubyte* text = glGetString(name);
  return text ? reinterpret_cast<const char*>(text) : "";
}

int gl_integer(GLenum name) {
  GLint value = 0;
  glGetIntegerv(name, &value);
  glGetError();  // a limit this context does not know stays 0, and the error is not left behind
  return value;
}

}  // namespace

bool ContextInfo::has_extension(std::string_view name) const {
  return std::find(extensions.begin(), extensions.end(), name) != extensions.end();
}

bool ContextInfo::is_software_renderer() const {
  for (const char* name : {"llvmpipe", "softpipe", "SwiftShader", "Software Rasterizer"})
    if (renderer.find(name) != std::string::npos) return true;
  return false;
}

std::string ContextInfo::summary() const {
  char line[512];
  std::snprintf(line, sizeof line,
                "%s (%s), %s, GLSL %s, max texture %d, multiview %s, timer queries %s, compute %s",
                renderer.c_str(), vendor.c_str(), version.c_str(), shading_language_version.c_str(),
                caps.max_texture_size,
                caps.multiview2 ? "OVR_multiview2" : (caps.multiview ? "OVR_multiview" : "no"),
                caps.timer_queries ? "yes" : "no", caps.compute_shaders ? "yes" : "no");
  return line;
}

ContextInfo query_context_info() {
  ContextInfo info;
  info.vendor = gl_string(GL_VENDOR);
  info.renderer = gl_string(GL_RENDERER);
  info.version = gl_string(GL_VERSION);
  info.shading_language_version = gl_string(GL_SHADING_LANGUAGE_VERSION);
  info.major = gl_integer(GL_MAJOR_VERSION);
  info.minor = gl_integer(GL_MINOR_VERSION);
  const int extension_count = gl_integer(GL_NUM_EXTENSIONS);
  for (int i = 0; i < extension_count; ++i) {
    const GLubyte* name = glGetStringi(GL_EXTENSIONS, static_cast<GLuint>(i));
    if (name) info.extensions.emplace_back(reinterpret_cast<const char*>(name));
  }
  GlCapabilities& caps = info.caps;
  caps.multiview = info.has_extension("GL_OVR_multiview");
  caps.multiview2 = info.has_extension("GL_OVR_multiview2");
  caps.timer_queries = info.has_extension("GL_EXT_disjoint_timer_query");
  caps.compute_shaders = info.major > 3 || (info.major == 3 && info.minor >= 1);
  caps.max_texture_size = gl_integer(GL_MAX_TEXTURE_SIZE);
  caps.max_array_texture_layers = gl_integer(GL_MAX_ARRAY_TEXTURE_LAYERS);
  caps.max_samples = gl_integer(GL_MAX_SAMPLES);
  return info;
}

}  // namespace fovea::render
