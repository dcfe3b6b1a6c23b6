# Runs a libFuzzer target for a bounded time over the committed seeds. New inputs go to a
# scratch corpus in the build tree, never into the source tree.
# -DFUZZER=<binary> -DSEEDS=<seed dir> -DWORK=<scratch dir> -DSECONDS=<n>
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -malloc_limit_mb=512
          -timeout=10 -print_final_stats=1 -artifact_prefix=${WORK}/ ${WORK}/corpus ${SEEDS}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the fuzz target failed (exit ${result}): a crash, leak, timeout or "
                      "oversized allocation; the input is saved in ${WORK}/. Reproduce with: "
                      "${FUZZER} ${WORK}/<crash-file>")
endif()
