#include "util/memory.h"

#include <cstdlib>  // before the test below: defines __GLIBC__ (through features.h)
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace discoblocks {

void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  (void)malloc_trim(0);
#endif
}

}  // namespace discoblocks
