# fovea-bench-model as a user runs it: the tiny flow model of the fixtures, timed and profiled
# per node (its Correlation and Warp must show up in the table); a missing file is a clear error.
# -DBENCH=<fovea-bench-model> -DMODEL=<flow_tiny_fp32.fvm>
execute_process(COMMAND "${BENCH}" "${MODEL}" --runs 3 --threads 2 --profile
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
message("${out}")
if(NOT code EQUAL 0)
  message(FATAL_ERROR "fovea-bench-model failed (${code}): ${err}")
endif()
foreach(expected "ms per run: median" "-- per node" "-- per op type" "Correlation" "Warp")
  string(FIND "${out}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "fovea-bench-model's output lacks '${expected}'")
  endif()
endforeach()
execute_process(COMMAND "${BENCH}" "${MODEL}.missing" OUTPUT_VARIABLE out ERROR_VARIABLE err
                RESULT_VARIABLE code)
if(code EQUAL 0 OR err STREQUAL "")
  message(FATAL_ERROR "a missing model should fail with a message, got ${code}: ${err}")
endif()
