# failover_public_headers(<target> <folder> <header>...): the headers a consumer of
# <target> may include, installed as <failover/<folder>/<name>.h> so that they cannot
# clash with another project's "core/" or "sim/". A header left out is private: it is
# not installed, and no installed header may include it (tests/package compiles every
# installed header to prove it).
#
# In this tree a header includes another by its source path ("core/engine/config.h",
# "sim/fleet.h"); the installed copy is the same file with each such include rewritten
# to the installed path ("failover/engine/config.h"), made at build time by
# cmake/installed_header.cmake into <build>/include/failover/<folder>/.
function(failover_public_headers target folder)
  set(_generated)
  foreach(_header IN LISTS ARGN)
    get_filename_component(_name ${_header} NAME)
    get_filename_component(_source ${_header} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    set(_output ${PROJECT_BINARY_DIR}/include/failover/${folder}/${_name})
    add_custom_command(OUTPUT ${_output}
      COMMAND ${CMAKE_COMMAND} -DINPUT=${_source} -DOUTPUT=${_output}
              -P ${PROJECT_SOURCE_DIR}/cmake/installed_header.cmake
      DEPENDS ${_source} ${PROJECT_SOURCE_DIR}/cmake/installed_header.cmake
      COMMENT "Installed form of ${_header}"
      VERBATIM)
    list(APPEND _generated ${_output})
  endforeach()
  target_sources(${target} PUBLIC FILE_SET HEADERS BASE_DIRS ${PROJECT_BINARY_DIR}/include FILES ${_generated})
  # The tree's own code includes the sources by their source paths.
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
endfunction()
