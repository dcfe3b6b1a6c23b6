# fovea-bench core end to end on small models and images this script writes: it must print the
# per-model table and the budget table, and write the JSON the issue specifies. The committed
# flow model (models/flow/) joins the table by default.
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}/photos")
foreach(variant RANGE 5)
  set(pixels "")
  foreach(y RANGE 39)
    foreach(x RANGE 47)
      math(EXPR r "(${x} * 5 + ${variant} * 40) % 256")
      math(EXPR g "(${y} * 6 + ((${x} / 8 + ${y} / 8 + ${variant}) % 2) * 80) % 256")
      math(EXPR b "((${x} - 24) * (${x} - 24) + (${y} - 20) * (${y} - 20) + ${variant} * 25) % 256")
      string(APPEND pixels "${r} ${g} ${b}\n")
    endforeach()
  endforeach()
  file(WRITE "${OUT}/photos/photo_${variant}.ppm" "P3\n48 40\n255\n${pixels}")
endforeach()
execute_process(
  COMMAND "${BENCH}" core --model cnn=${FIXTURES}/onnx_small_cnn.onnx
          --model mnv2=${MODELS}/mobilenetv2_035_128.onnx --photos "${OUT}/photos" --runs 2
          --threads 1 --json "${OUT}/core.json"
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
message("${out}")
if(NOT code EQUAL 0)
  message(FATAL_ERROR "fovea-bench core failed (${code}): ${err}")
endif()
foreach(expected "fp32 ms" "int8 ms" "int8 xnn" "opencv ms" "three models alternately" "uncapped")
  string(FIND "${out}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "fovea-bench core's output lacks '${expected}'")
  endif()
endforeach()
file(READ "${OUT}/core.json" json)
string(JSON models LENGTH "${json}" models)
string(JSON int8_ms GET "${json}" models 1 int8_ms)
string(JSON cosine GET "${json}" models 1 cosine)
string(JSON allocations GET "${json}" allocations_per_inference)
# Sanitizers own malloc, so a sanitized build cannot count allocations and reports -1.
if(SANITIZED)
  set(expected_allocations -1)
else()
  set(expected_allocations 0)
endif()
if(NOT models EQUAL 3 OR NOT int8_ms GREATER 0 OR cosine LESS 0.9
   OR NOT allocations EQUAL expected_allocations)
  message(FATAL_ERROR "core.json is wrong: ${json}")
endif()
# The committed flow model is measured by default, with no OpenCV figure (it has no ONNX form).
string(JSON flow_name GET "${json}" models 2 name)
string(JSON flow_int8_ms GET "${json}" models 2 int8_ms)
string(JSON flow_opencv TYPE "${json}" models 2 opencv_fp32_ms)
string(JSON flow_cosine GET "${json}" models 2 cosine)
if(NOT flow_name STREQUAL "flow_448x1024" OR NOT flow_int8_ms GREATER 0
   OR NOT flow_opencv STREQUAL "NULL" OR flow_cosine LESS 0.9)
  message(FATAL_ERROR "core.json's flow row is wrong: ${json}")
endif()
