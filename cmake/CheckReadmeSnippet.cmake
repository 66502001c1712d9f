# ctest: README.md's device loop must be examples/device_loop.c's, verbatim.
file(READ "${SRC}/examples/device_loop.c" example)
file(READ "${SRC}/README.md" readme)
string(REGEX MATCH "/\\* README:device-loop:begin \\*/\n(.*)/\\* README:device-loop:end \\*/" _ "${example}")
set(snippet "${CMAKE_MATCH_1}")
string(FIND "${readme}" "```c\n${snippet}```" at)
if(snippet STREQUAL "" OR at EQUAL -1)
  message(FATAL_ERROR "README.md's device loop differs from examples/device_loop.c")
endif()
