// The two module rewrites behind pre-initialized drivers (issue 16), on the
// layout wasm_binary.h reads. Pure C++, no Wasmtime.
//
//   1. Instrument: the same module with only exports added, so that after
//      `_initialize` has run the host can read every mutable global, the
//      memory and the tables through the ordinary export API.
//   2. Rewrite: the original module turned into its snapshot: memory, globals
//      and data segments start in the state the initializer left, and nothing
//      runs the initializer again.
//
// Both copy every section they do not need to change byte for byte, custom
// sections (`name`, `producers`) included and in their place. Both take the
// layout ParseLayout returned for the same bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "wasm/wasm_binary.h"

namespace discoblocks::wasm::binary {

// Every export Instrument adds starts with this; Rewrite drops all of them.
inline constexpr std::string_view kPreinitExportPrefix = "__discoblocks_preinit_";
inline constexpr std::string_view kInitializeExport = "_initialize";

struct Instrumented {
  std::string bytes;
  // Export name of each defined mutable global, by global index
  // (`__discoblocks_preinit_global_<index>`).
  std::map<std::uint32_t, std::string> globals;
  // Export name of each defined table, by table index (`__discoblocks_preinit_table_<index>`),
  // so the host can check that the initializer did not grow it.
  std::map<std::uint32_t, std::string> tables;
  // Export name of memory 0: the module's own export when it has one, else
  // `__discoblocks_preinit_memory`. Empty when the module has no memory.
  std::string memory;
};

// Adds the exports above and changes nothing else. Fails when the module
// already exports a name with kPreinitExportPrefix (it would clash).
Result<Instrumented> Instrument(std::string_view bytes, const ModuleLayout& layout);

// A global's value at the end of the initializer, as raw bits.
struct GlobalValue {
  std::uint8_t type = valtype::kI32;    // must equal the global's declared type
  std::uint64_t bits = 0;               // i32/f32 in the low 32 bits, i64/f64 whole
  std::array<std::uint8_t, 16> v128{};  // v128 only, little-endian lanes as in memory
};

struct SnapshotState {
  std::uint64_t memory_pages = 0;  // memory 0's size when the initializer ended
  std::string_view memory;         // exactly memory_pages * 64 KiB bytes
  // One value for every defined mutable global, by global index; no others.
  std::map<std::uint32_t, GlobalValue> globals;
};

struct SegmentOptions {
  // Zero runs up to this long are kept inside a segment rather than split at:
  // a segment's header (flags, i32.const offset, end, size) costs up to 12
  // bytes, so shorter gaps are cheaper kept.
  std::size_t max_gap = 12;
  // Above this, the segments separated by the smallest gaps are merged until it
  // holds. Many small segments make compiling and instantiating slower; Wasmtime
  // builds its copy-on-write image from any number of them.
  std::size_t max_segments = 10000;
};

// The byte ranges of `memory` the snapshot's data segments cover: its non-zero
// bytes, in order, merged per `options`. Everything outside them is zero.
std::vector<Range> SnapshotSegments(std::string_view memory, const SegmentOptions& options = {});

// Why a module's state cannot be captured by Rewrite, or OK when it can:
// refuses not exactly one memory, memory64, shared memory, an imported memory,
// table or global, a mutable global of reference type, and passive data
// segments (memory.init could copy one again after the snapshot).
Status CheckSnapshottable(const ModuleLayout& layout);

struct RewriteOptions {
  SegmentOptions segments;
  // Keep the `_initialize` export. For tests that run the initializer again
  // on a snapshot of the state the module starts with.
  bool keep_initialize = false;
};

// The snapshot: memory 0's minimum becomes state.memory_pages (its maximum
// stays); each mutable global's init expression becomes a *.const of its value;
// the exports lose `_initialize` and every kPreinitExportPrefix one; the start
// section is dropped (it already ran); every active data segment is replaced by
// the segments of state.memory (SnapshotSegments), the datacount section, if
// any, following. Fails per CheckSnapshottable, and when the state does not fit
// the module (pages below the minimum or above the maximum, a memory of the
// wrong size, a missing, extra or mistyped global).
Result<std::string> Rewrite(std::string_view bytes, const ModuleLayout& layout,
                            const SnapshotState& state, const RewriteOptions& options = {});

}  // namespace discoblocks::wasm::binary
