// What this binary is: the version of the sources (CMakeLists.txt's project
// version) and the git commit they were built from ("unknown" without git).
// Defined in a file the build generates (cmake/write_build_info.cmake).
#pragma once

#include <string_view>

namespace discoblocks::cli {

std::string_view BuildVersion();
std::string_view BuildCommit();

}  // namespace discoblocks::cli
