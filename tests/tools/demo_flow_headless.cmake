# `fovea-demo --headless --scene flow`: opencv-doc's vtest.avi and its flow side by side, PNG
# frames and a report with the flow's time per frame pair.
file(REMOVE_RECURSE "${OUT}")
execute_process(
  COMMAND "${DEMO}" --headless --scene flow --frames 3 --size 320x120 --out "${OUT}"
          --platform egl-surfaceless
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
message("${out}${err}")
if(NOT code EQUAL 0)
  message(FATAL_ERROR "fovea-demo --scene flow failed (${code})")
endif()
foreach(frame 0000 0001 0002)
  if(NOT EXISTS "${OUT}/frame_${frame}.png")
    message(FATAL_ERROR "frame_${frame}.png is missing")
  endif()
endforeach()
file(READ "${OUT}/report.json" json)
string(JSON method GET "${json}" flow method)
string(JSON timed GET "${json}" flow timed_frames)
string(JSON median GET "${json}" flow ms_median)
string(JSON frame_width GET "${json}" flow frame_width)
string(JSON core_cap GET "${json}" flow core_budget_bytes)
string(JSON core_peak GET "${json}" flow core_peak_bytes)
if(NOT method MATCHES "fovea INT8" OR NOT timed EQUAL 3 OR NOT median GREATER 0
   OR NOT frame_width EQUAL 768 OR NOT core_peak GREATER 0 OR core_peak GREATER core_cap)
  message(FATAL_ERROR "report.json's flow block is wrong: ${json}")
endif()
# The video moves on: consecutive pictures differ.
file(MD5 "${OUT}/frame_0000.png" first)
file(MD5 "${OUT}/frame_0002.png" third)
if(first STREQUAL third)
  message(FATAL_ERROR "frames 0 and 2 are identical: the video did not advance")
endif()
# Bad input is a clear error, not a crash: a video that is not there, a method that is not one.
execute_process(COMMAND "${DEMO}" --headless --scene flow --video "${OUT}/missing.avi" --out "${OUT}/bad"
                RESULT_VARIABLE bad ERROR_VARIABLE bad_err)
if(bad EQUAL 0 OR NOT bad_err MATCHES "missing.avi")
  message(FATAL_ERROR "a missing --video must fail with its name: ${bad_err}")
endif()
execute_process(COMMAND "${DEMO}" --scene flow --flow-method raft RESULT_VARIABLE bad ERROR_VARIABLE bad_err)
if(bad EQUAL 0 OR NOT bad_err MATCHES "--flow-method")
  message(FATAL_ERROR "a bad --flow-method must fail with a message: ${bad_err}")
endif()
