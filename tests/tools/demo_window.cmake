# The window demo under a virtual X server: it must open a GLES 3 window through EGL, draw the
# scene and the ImGui panel, and save a screenshot of both.
file(REMOVE "${SHOT}")
execute_process(
  COMMAND "${XVFB_RUN}" -a -s "-screen 0 1280x720x24" "${DEMO}" --window --frames 20
          --size 960x540 --screenshot "${SHOT}"
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code TIMEOUT 120)
message("${out}${err}")
if(NOT code EQUAL 0)
  message(FATAL_ERROR "fovea-demo --window failed (${code})")
endif()
execute_process(COMMAND "${CHECK}" "${SHOT}" RESULT_VARIABLE checked)
if(NOT checked EQUAL 0)
  message(FATAL_ERROR "the screenshot ${SHOT} does not show the panel over the scene")
endif()
