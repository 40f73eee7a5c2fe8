# failover_warnings: an interface target every first-party target links privately.
add_library(failover_warnings INTERFACE)
target_compile_options(failover_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wimplicit-fallthrough
  $<$<BOOL:${FAILOVER_WARNINGS_AS_ERRORS}>:-Werror>)
# Floating point in the simulator's samplers must round the same on every machine:
# no fused multiply-add contraction behind our back.
target_compile_options(failover_warnings INTERFACE -ffp-contract=off)
