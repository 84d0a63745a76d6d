# libFuzzer builds (tests/fuzz) when DISCOBLOCKS_FUZZ is on: the whole project
# is compiled with clang's coverage instrumentation for libFuzzer and with
# AddressSanitizer and UndefinedBehaviorSanitizer, so that the fuzzers see the
# branches of our code and every memory error or undefined behaviour is a crash.
# Configure a separate build directory with CC=clang-14 CXX=clang++-14
# (tests/fuzz/run.sh does). Only the fuzz targets link libFuzzer itself.
if(DISCOBLOCKS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "DISCOBLOCKS_FUZZ needs clang (libFuzzer): configure with "
                        "CC=clang-14 CXX=clang++-14")
  endif()
  if(DISCOBLOCKS_SANITIZE)
    message(FATAL_ERROR "DISCOBLOCKS_FUZZ already builds with ASan + UBSan; "
                        "leave DISCOBLOCKS_SANITIZE off")
  endif()
  # Line tables are all that symbolized stack traces need; full debug
  # information makes the Beast-heavy server code compile 15% slower.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer -gline-tables-only)
  add_link_options(-fsanitize=address,undefined)
endif()
