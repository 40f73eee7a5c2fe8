# failover_warnings: an interface target every first-party target links privately.
add_library(failover_warnings INTERFACE)
target_compile_options(failover_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wimplicit-fallthrough
  $<$<BOOL:${FAILOVER_WARNINGS_AS_ERRORS}>:-Werror>)
# Floating point in the simulator's samplers must round the same on every machine:
# no fused multiply-add contraction behind our back.
target_compile_options(failover_warnings INTERFACE -ffp-contract=off)
# GCC 12 at -O2 reports -Wrestrict on ordinary std::string concatenation (a false
# positive: GCC bug 105651, fixed in 13). Off for that compiler only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(failover_warnings INTERFACE -Wno-restrict)
endif()
