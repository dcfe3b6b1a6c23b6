# fovea-quantize as a user runs it: the small CNN of tests/fixtures, calibrated on images this
# script writes (plain-text PPM, which OpenCV reads), to an INT8 .fvm and a report; the float
# .fvm it writes quantizes too; bad inputs fail with a message naming the problem.
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}/images")
foreach(variant RANGE 3)
  set(w 40)
  set(h 30)
  set(pixels "")
  foreach(y RANGE 29)
    foreach(x RANGE 39)
      math(EXPR r "(${x} * 6 + ${variant} * 50) % 256")
      math(EXPR g "(${y} * 8 + ((${x} / 10 + ${y} / 10 + ${variant}) % 2) * 90) % 256")
      math(EXPR b "((${x} - 20) * (${x} - 20) + (${y} - 15) * (${y} - 15) + ${variant} * 30) % 256")
      string(APPEND pixels "${r} ${g} ${b}\n")
    endforeach()
  endforeach()
  file(WRITE "${OUT}/images/calibration_${variant}.ppm" "P3\n${w} ${h}\n255\n${pixels}")
endforeach()

function(quantize expect_ok)
  execute_process(COMMAND "${QUANTIZE}" ${ARGN}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
  if(expect_ok AND NOT code EQUAL 0)
    message(FATAL_ERROR "fovea-quantize ${ARGN} failed (${code}): ${err}\n${out}")
  elseif(NOT expect_ok AND code EQUAL 0)
    message(FATAL_ERROR "fovea-quantize ${ARGN} should have failed:\n${out}")
  endif()
endfunction()

quantize(TRUE "${FIXTURES}/onnx_small_cnn.onnx" --calibration "${OUT}/images" --method minmax
         --keep-float /Sigmoid --out "${OUT}/small_cnn_int8.fvm"
         --float-out "${OUT}/small_cnn_float.fvm" --report "${OUT}/report.txt")
message("${out}")
foreach(expected "on 4 images" "INT8 quantization: min-max ranges" "/stem/stem.0/Conv" "layers INT8")
  string(FIND "${out}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "fovea-quantize output lacks '${expected}'")
  endif()
endforeach()
foreach(file small_cnn_int8.fvm small_cnn_float.fvm report.txt)
  if(NOT EXISTS "${OUT}/${file}")
    message(FATAL_ERROR "fovea-quantize did not write ${file}")
  endif()
endforeach()
file(READ "${OUT}/report.txt" report)
string(FIND "${report}" "sensitivity" at)
if(at EQUAL -1)
  message(FATAL_ERROR "report.txt lacks the per-layer table")
endif()

# The float .fvm it wrote is a valid input too; single image files work like directories.
quantize(TRUE "${OUT}/small_cnn_float.fvm" --calibration "${OUT}/images/calibration_0.ppm"
         "${OUT}/images/calibration_1.ppm" --out "${OUT}/from_fvm.fvm")

quantize(FALSE "${FIXTURES}/onnx_unsupported_op.onnx" --calibration "${OUT}/images"
         --out "${OUT}/bad.fvm")
if(NOT err MATCHES "erf_gate")
  message(FATAL_ERROR "an unsupported op must be named: ${err}")
endif()
quantize(FALSE "${FIXTURES}/onnx_small_cnn.onnx" --calibration "${OUT}/no_such_dir"
         --out "${OUT}/bad.fvm")
if(NOT err MATCHES "no_such_dir")
  message(FATAL_ERROR "a missing calibration directory must be named: ${err}")
endif()
quantize(FALSE "${FIXTURES}/onnx_small_cnn.onnx" --calibration "${OUT}/images" --method best
         --out "${OUT}/bad.fvm")
if(NOT err MATCHES "unknown --method")
  message(FATAL_ERROR "a bad flag value must be named: ${err}")
endif()
