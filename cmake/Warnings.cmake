# Warnings are errors in our own code (not in third-party headers, which are
# included as system headers).
function(discoblocks_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion -Werror)
endfunction()
