#pragma once
// The GL context GL tests draw with: Mesa llvmpipe through EGL surfaceless, as CI has it.

#include "fovea/render/platform.h"

namespace fovea::testing {

// Opens the context once per test process and makes it current; fails the test with the
// platform's error message when there is none.
render::GlPlatform& gl_context();

}  // namespace fovea::testing
