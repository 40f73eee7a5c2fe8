# Writes OUTPUT, the installed form of the header INPUT: each include of a failover
# header by its source path becomes its installed path (cmake/public_headers.cmake):
#   "core/engine/x.h" -> "failover/engine/x.h"   (likewise config, protocol, transport)
#   "sim/x.h"         -> "failover/sim/x.h"      (likewise serve)
foreach(var INPUT OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "installed_header.cmake needs -D${var}=...")
  endif()
endforeach()
file(READ ${INPUT} text)
string(REGEX REPLACE "#include \"core/(engine|config|protocol|transport)/" "#include \"failover/\\1/" text "${text}")
string(REGEX REPLACE "#include \"(sim|serve)/" "#include \"failover/\\1/" text "${text}")
file(WRITE ${OUTPUT} "${text}")
