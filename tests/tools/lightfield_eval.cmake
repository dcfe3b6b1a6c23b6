# fovea-lightfield as a user runs it: write the procedural asset, render a small nerf_synthetic
# dataset of it with the CPU reference, and `eval` it with the GL renderer (llvmpipe): the views
# must come back almost exactly (PSNR >= 40 dB, SSIM >= 0.99), with JSON and side-by-side PNGs.
# When the fern LLFF data is beside the repository, `eval` must pick its three held-out images.
# -DTOOL=<fovea-lightfield> -DOUT=<scratch dir> [-DFERN=<fern_llff dir>]
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")

function(run_tool)
  execute_process(COMMAND "${TOOL}" ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE err
                  RESULT_VARIABLE code)
  message("${out}")
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "fovea-lightfield ${ARGN} failed (${code}): ${err}")
  endif()
  set(tool_output "${out}" PARENT_SCOPE)
endfunction()

run_tool(procedural "${OUT}/procedural.fvlf" --k 8)
run_tool(info "${OUT}/procedural.fvlf")
string(FIND "${tool_output}" "k=8, 1002 vertices, 334 triangles" at)
if(at EQUAL -1)
  message(FATAL_ERROR "info does not describe the procedural asset")
endif()
run_tool(synth-dataset "${OUT}/procedural.fvlf" "${OUT}/data" --views 5 --size 160x120)
run_tool(eval "${OUT}/procedural.fvlf" "${OUT}/data" --split val --platform egl-surfaceless
         --json "${OUT}/eval.json" --out "${OUT}/side_by_side")
file(READ "${OUT}/eval.json" json)
string(JSON views GET "${json}" views)
string(JSON psnr GET "${json}" psnr)
string(JSON ssim GET "${json}" ssim)
string(JSON per_view LENGTH "${json}" per_view)
string(JSON first GET "${json}" per_view 0 view)
if(NOT views EQUAL 5 OR NOT per_view EQUAL 5 OR NOT first STREQUAL "r_0.png")
  message(FATAL_ERROR "eval.json lists ${views} views (${per_view} per view, first ${first}), expected 5")
endif()
if(psnr LESS 40 OR ssim LESS 0.99)
  message(FATAL_ERROR "GL eval of a CPU-rendered dataset: PSNR ${psnr}, SSIM ${ssim}; expected >= 40 dB, >= 0.99")
endif()
foreach(view RANGE 4)
  if(NOT EXISTS "${OUT}/side_by_side/val_r_${view}.png")
    message(FATAL_ERROR "no side-by-side PNG for view ${view}")
  endif()
endforeach()

if(FERN AND EXISTS "${FERN}/poses_bounds.npy")
  run_tool(eval "${OUT}/procedural.fvlf" "${FERN}" --split test --platform egl-surfaceless
           --json "${OUT}/fern.json")
  file(READ "${OUT}/fern.json" json)
  set(names "")
  string(JSON count LENGTH "${json}" per_view)
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${json}" per_view ${i} view)
    list(APPEND names ${name})
  endforeach()
  if(NOT names STREQUAL "image001.png;image010.png;image019.png")
    message(FATAL_ERROR "fern's held-out views are ${names}, expected image001/010/019")
  endif()
endif()

# A damaged asset is an error with a message, not a crash.
file(WRITE "${OUT}/truncated.fvlf" "not a light field")
execute_process(COMMAND "${TOOL}" info "${OUT}/truncated.fvlf" RESULT_VARIABLE bad
                ERROR_VARIABLE bad_err)
if(bad EQUAL 0 OR NOT bad_err MATCHES "not a fovea light-field asset")
  message(FATAL_ERROR "a bad asset must fail with a message, got ${bad}: ${bad_err}")
endif()
