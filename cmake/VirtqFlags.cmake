# Warnings, sanitizers and coverage instrumentation.

add_library(virtq_warnings INTERFACE)
target_compile_options(virtq_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
  -Wstrict-prototypes -Wmissing-prototypes -Wcast-align -Wpointer-arith
  -Wundef -Wvla -Wformat=2 -Wwrite-strings -Wimplicit-fallthrough
  $<$<BOOL:${VIRTQ_WERROR}>:-Werror>)

if(VIRTQ_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

if(VIRTQ_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "VIRTQ_FUZZ needs clang (libFuzzer)")
  endif()
  # Everything is instrumented for coverage feedback; only the fuzz
  # executables link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(VIRTQ_TSAN)
  if(VIRTQ_SANITIZE)
    message(FATAL_ERROR "VIRTQ_TSAN and VIRTQ_SANITIZE are mutually exclusive "
                        "(ThreadSanitizer cannot be combined with AddressSanitizer)")
  endif()
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "VIRTQ_TSAN needs clang (gcc warns that TSan ignores atomic_thread_fence)")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

if(VIRTQ_COVERAGE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "VIRTQ_COVERAGE needs clang (source-based coverage)")
  endif()
  add_compile_options(-fprofile-instr-generate -fcoverage-mapping)
  add_link_options(-fprofile-instr-generate)
endif()
