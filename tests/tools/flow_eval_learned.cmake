# fovea-flow eval with the learned rows loaded: the tiny fixture model (random weights, so its
# EPE means nothing) as both --fovea-fp32 and --fovea-int8 on a synthetic pair, checking that
# fovea_fp32, fovea_int8 (the network and the patch search), fovea_int8_net (the network alone),
# fovea_int8_dis and fovea_int8_fast (given with --fovea-int8-fast) run at two thread counts and
# land in the JSON, and
# that a model path that does not load stops the tool with the loader's message.
# -DTOOL=<fovea-flow> -DMODEL=<tests/fixtures/flow_tiny_fp32.fvm> -DOUT=<scratch dir>
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")

execute_process(COMMAND "${TOOL}" synth-pair "${OUT}/shift_pair" --size 160x120 --shift 3,-2
                RESULT_VARIABLE code)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "synth-pair failed (${code})")
endif()
execute_process(COMMAND "${TOOL}" eval "${OUT}/shift_pair" --threads 1,2 --runs 1
                        --methods dis_fast,fovea_fp32,fovea_int8,fovea_int8_net,fovea_int8_dis,fovea_int8_fast
                        --fovea-fp32 "${MODEL}" --fovea-int8 "${MODEL}" --fovea-int8-fast "${MODEL}"
                        --json "${OUT}/eval.json"
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
message("${out}")
if(NOT code EQUAL 0)
  message(FATAL_ERROR "eval with the learned rows failed (${code}): ${err}")
endif()
file(READ "${OUT}/eval.json" json)
foreach(method fovea_fp32 fovea_int8 fovea_int8_net fovea_int8_dis fovea_int8_fast)
  string(JSON available GET "${json}" methods ${method} available)
  string(JSON epe GET "${json}" methods ${method} epe)
  string(JSON ms1 GET "${json}" methods ${method} pairs shift_pair ms_by_threads 1)
  string(JSON ms2 GET "${json}" methods ${method} pairs shift_pair ms_by_threads 2)
  if(NOT available)
    message(FATAL_ERROR "${method} should be available with a model given")
  endif()
endforeach()
# fovea_int8 refines by the patch search, which gives a confidence map: its figures are in the JSON.
string(JSON trusted GET "${json}" methods fovea_int8 pairs shift_pair confidence trusted_share)
if(trusted LESS 0 OR trusted GREATER 1)
  message(FATAL_ERROR "fovea_int8's trusted share should be in [0, 1], got ${trusted}")
endif()

execute_process(COMMAND "${TOOL}" eval "${OUT}/shift_pair" --runs 1
                        --fovea-int8 "${OUT}/no_such_model.fvm"
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
if(code EQUAL 0 OR NOT err MATCHES "no_such_model.fvm")
  message(FATAL_ERROR "eval with a missing model should fail naming it, got ${code}: ${err}")
endif()
