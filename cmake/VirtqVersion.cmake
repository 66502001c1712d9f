# The headers' version macros must equal project(VERSION): virtq_version()
# returns what the macros say, and the package files what project() says.
foreach(part MAJOR MINOR PATCH)
  file(STRINGS ${PROJECT_SOURCE_DIR}/include/virtq/version.h _virtq_ver
       REGEX "define VIRTQ_VERSION_${part} ")
  if(NOT _virtq_ver MATCHES " ${PROJECT_VERSION_${part}}$")
    message(FATAL_ERROR "version.h: ${_virtq_ver} differs from project(${PROJECT_VERSION})")
  endif()
endforeach()
file(STRINGS ${PROJECT_SOURCE_DIR}/include/virtq/version.h _virtq_ver
     REGEX "define VIRTQ_VERSION_STRING")
if(NOT _virtq_ver MATCHES "\"${PROJECT_VERSION}\"")
  message(FATAL_ERROR "version.h: ${_virtq_ver} differs from project(${PROJECT_VERSION})")
endif()

