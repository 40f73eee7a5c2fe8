# Installs the build tree into a scratch prefix, then configures, builds and runs two
# consumer projects against it. Run by CTest as `find_package_consumer`.
#   tests/package/         every component (find_package(failover)), every header
#   tests/package/engine/  the engine alone, with toml++, Boost and OpenSSL made
#                          unfindable: docs/embedding.md's driver loop
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
# No private header is installed.
foreach(private engine/engine_impl.h engine/timer_heap.h engine/wide.h engine/request_index.h)
  if(EXISTS ${WORK_DIR}/prefix/include/failover/${private})
    message(FATAL_ERROR "the private header ${private} was installed")
  endif()
endforeach()

# consumer(<name> <source dir> <program> [configure arguments...])
function(consumer name source program)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${source} -B ${WORK_DIR}/${name} -G Ninja
                          -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release ${ARGN}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: configure failed: ${rc}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/${name} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: build failed: ${rc}")
  endif()
  execute_process(COMMAND ${WORK_DIR}/${name}/${program} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: ${program} failed: ${rc}")
  endif()
endfunction()

consumer(all ${SOURCE_DIR}/tests/package consumer)
consumer(engine ${SOURCE_DIR}/tests/package/engine embedding
         -DFAILOVER_SOURCE_DIR=${SOURCE_DIR}
         -DCMAKE_DISABLE_FIND_PACKAGE_tomlplusplus=ON
         -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON
         -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON
         -DCMAKE_DISABLE_FIND_PACKAGE_Threads=ON)
