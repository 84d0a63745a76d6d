// The `discoblocks` command line. Exit status: 0 success (valid/ok), 1 invalid,
// 2 error (including usage errors), each error with a message on stderr.
#pragma once

namespace discoblocks::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitError = 2;

int Run(int argc, char** argv);

}  // namespace discoblocks::cli
