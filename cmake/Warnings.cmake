# Warnings are errors in our own code (not in third-party headers, which are
# included as system headers).
function(discoblocks_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion -Werror)
  # GCC 12 at -O3 reports impossible overlaps inside libstdc++'s std::string
  # (GCC bug 105329); the warning stays on, but not as an error.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-error=restrict)
  endif()
endfunction()
