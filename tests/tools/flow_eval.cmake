# fovea-flow as a user runs it: write a translated and a rotated synthetic pair with exact flow,
# `eval` them, and check the JSON report's shape and figures (DIS far better than zero flow; the
# learned rows present but "not available"), the colour PNGs, and clear errors for a missing
# folder, a missing file and a corrupt .flo. Needs nothing outside the build.
# -DTOOL=<fovea-flow> -DOUT=<scratch dir>
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")

function(run_tool)
  execute_process(COMMAND "${TOOL}" ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE err
                  RESULT_VARIABLE code)
  message("${out}")
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "fovea-flow ${ARGN} failed (${code}): ${err}")
  endif()
  set(tool_output "${out}" PARENT_SCOPE)
endfunction()

function(expect_failure words)
  execute_process(COMMAND "${TOOL}" ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE err
                  RESULT_VARIABLE code)
  if(code EQUAL 0 OR NOT err MATCHES "${words}")
    message(FATAL_ERROR "fovea-flow ${ARGN} should fail saying '${words}', got ${code}: ${err}")
  endif()
endfunction()

run_tool(synth-pair "${OUT}/shift_pair" --size 160x120 --shift 3,-2)
run_tool(synth-pair "${OUT}/rotate_pair" --size 160x120 --rotate 2)
run_tool(eval "${OUT}/shift_pair" "${OUT}/rotate_pair" --threads 1,2 --runs 1
         --json "${OUT}/eval.json" --out "${OUT}/png")
foreach(table "shift_pair" "rotate_pair" "\\[all\\] mean over 2 pairs" "not available")
  if(NOT tool_output MATCHES "${table}")
    message(FATAL_ERROR "eval's tables lack '${table}'")
  endif()
endforeach()

file(READ "${OUT}/eval.json" json)
foreach(method zero dis_ultrafast dis_fast dis_medium)
  string(JSON available GET "${json}" methods ${method} available)
  string(JSON epe GET "${json}" methods ${method} epe)
  string(JSON ms GET "${json}" methods ${method} ms)
  foreach(pair shift_pair rotate_pair)
    foreach(key epe epe_noc epe_occ ms)
      string(JSON value GET "${json}" methods ${method} pairs ${pair} ${key})
    endforeach()
    string(JSON ms1 GET "${json}" methods ${method} pairs ${pair} ms_by_threads 1)
  endforeach()
  if(NOT available)
    message(FATAL_ERROR "${method} should be available")
  endif()
endforeach()
# Zero flow's EPE on the shift is the shift's length, sqrt(13) = 3.606.
string(JSON zero_shift GET "${json}" methods zero pairs shift_pair epe)
if(zero_shift LESS 3.59 OR zero_shift GREATER 3.62)
  message(FATAL_ERROR "zero flow EPE on a (3,-2) shift is ${zero_shift}, expected 3.606")
endif()
# DIS on a clean synthetic texture: far below zero flow (the doctest suite holds the tight
# per-preset bounds; this checks the tool's wiring, so its bound is loose).
foreach(method dis_ultrafast dis_fast dis_medium)
  string(JSON epe GET "${json}" methods ${method} epe)
  if(epe GREATER 0.8)
    message(FATAL_ERROR "${method} mean EPE ${epe} on the synthetic pairs, expected < 0.8")
  endif()
endforeach()
foreach(method fovea_fp32 fovea_int8)
  string(JSON available GET "${json}" methods ${method} available)
  string(JSON reason GET "${json}" methods ${method} reason)
  if(available OR NOT reason MATCHES "no model given")
    message(FATAL_ERROR "${method} without a model should be unavailable, not ${available}")
  endif()
endforeach()
foreach(pair shift_pair rotate_pair)
  if(NOT EXISTS "${OUT}/png/${pair}.png")
    message(FATAL_ERROR "no colour-coded PNG for ${pair}")
  endif()
endforeach()

# Mistakes are errors with messages, before any timing starts.
expect_failure("is not a folder" eval "${OUT}/no_such_pair")
file(MAKE_DIRECTORY "${OUT}/half_pair")
file(COPY "${OUT}/shift_pair/frame1.png" DESTINATION "${OUT}/half_pair")
expect_failure("missing frame2.png" eval "${OUT}/half_pair")
file(COPY "${OUT}/shift_pair/frame1.png" "${OUT}/shift_pair/frame2.png"
     DESTINATION "${OUT}/corrupt_pair")
file(WRITE "${OUT}/corrupt_pair/flow_gt.flo" "PIEH but nothing else")
expect_failure("not a valid .flo file" eval "${OUT}/corrupt_pair")
expect_failure("unknown method 'dis_slow'" eval "${OUT}/shift_pair" --methods dis_slow)
expect_failure("--threads" eval "${OUT}/shift_pair" --threads 0)
