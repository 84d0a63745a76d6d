# ASan + UBSan for the whole project when DISCOBLOCKS_SANITIZE is on. Wasmtime
# handles SIGSEGV itself (out-of-bounds accesses become traps), so tests run with
# ASAN_OPTIONS that leave those signals to it (see tests/CMakeLists.txt).
if(DISCOBLOCKS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
