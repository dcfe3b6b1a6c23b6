#pragma once
// The one place fovea includes GL: OpenGL ES 3.0 core plus the extension tokens it probes.
#include <GLES3/gl3.h>
// gl2ext.h declares GLES2-era typedefs the extension headers rely on.
#include <GLES2/gl2ext.h>
