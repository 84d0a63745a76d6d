// Failpoints: named places where a test can make the process die as a crash
// would (SIGKILL, power loss), to check that what was written before is enough
// to carry on. DISCOBLOCKS_FAILPOINT=<name> in the environment arms one; none
// is armed otherwise, and an unarmed failpoint costs a comparison.
#pragma once

#include <string_view>

namespace discoblocks {

// Exits at once with status 137, without unwinding or flushing anything but
// the log line saying so, when `name` is the armed failpoint.
void Failpoint(std::string_view name);

}  // namespace discoblocks
