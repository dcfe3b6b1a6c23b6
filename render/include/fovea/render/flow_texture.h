#pragma once
// Colour-coded optical flow as a GL texture, for overlays in the loop. render/ never includes
// vision/ (DESIGN.md), so this takes the RGBA8 bytes vision::flow_to_rgba8() produces, rows
// bottom to top, and knows nothing of flow itself:
//
//   auto rgba = vision::flow_to_rgba8(field.flow);                    // vision side
//   auto texture = render::upload_flow_texture(ledger, rgba->width, rgba->height, rgba->pixels);
//   render::update_flow_texture(*texture, next_rgba->pixels);        // every later frame

#include <cstdint>
#include <span>

#include "fovea/core/status.h"
#include "fovea/render/gl_resources.h"

namespace fovea::render {

// A linear-filtered, edge-clamped RGBA8 texture of width x height holding `rgba_bottom_up`
// (width*height*4 bytes), counted in `ledger`.
Result<Texture2D> upload_flow_texture(GpuMemoryLedger& ledger, int width, int height,
                                      std::span<const std::uint8_t> rgba_bottom_up);

// Replaces the texture's pixels in place (glTexSubImage2D): a flow that changes every frame
// reuses one texture instead of allocating GPU memory per frame. The bytes must match its size.
Status update_flow_texture(Texture2D& texture, std::span<const std::uint8_t> rgba_bottom_up);

}  // namespace fovea::render
