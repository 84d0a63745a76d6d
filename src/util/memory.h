// Handing memory the process no longer uses back to the operating system.
#pragma once

namespace discoblocks {

// Returns the free pages the C allocator keeps in its arenas to the system. glibc
// keeps what was freed for reuse, per arena; a burst of allocations on many threads
// (compiling a driver: Cranelift allocates tens of MiB per module, across its
// threads) would otherwise stay resident for the life of the process. Costs a few
// milliseconds: call it after such a burst, never on a hot path. Does nothing where
// the allocator has no such call.
void ReleaseFreedMemory();

}  // namespace discoblocks
