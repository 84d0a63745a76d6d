// Fuzzes the WebAssembly binary reader and the snapshot rewrites
// (wasm/wasm_binary.h, wasm/wasm_rewrite.h), which will read every driver
// module before it is snapshotted.
//
// Beyond "no crash, no hang, no undefined behaviour, no allocation out of
// proportion to the input", it checks:
//   - a layout tiles the module: sections follow each other from byte 8 to the
//     end, and every range it reports lies inside its section;
//   - Instrument only adds exports: its output parses, every other section is
//     byte for byte the same, and instrumenting it again is refused;
//   - for a module Rewrite accepts, a snapshot of the state it starts with
//     parses and its data segments rebuild exactly that memory.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "wasm/wasm_binary.h"
#include "wasm/wasm_rewrite.h"

namespace {

using discoblocks::fuzz::Require;
namespace binary = discoblocks::wasm::binary;

// Snapshots larger than this are not attempted: the fuzzer would spend its
// time zeroing memory.
constexpr std::uint64_t kMaxPages = 4;

void CheckTiling(const binary::ModuleLayout& layout, std::size_t size) {
  std::size_t at = 8;
  for (const auto& section : layout.sections) {
    Require(section.whole.offset == at, "sections follow each other");
    Require(section.content.offset > section.whole.offset &&
                section.content.end() == section.whole.end(),
            "a section's content ends with it");
    at = section.whole.end();
  }
  Require(at == size, "the sections end with the module");
  for (const auto& g : layout.globals) Require(g.init.end() <= size, "global init inside");
  for (const auto& e : layout.exports) Require(e.entry.end() <= size, "export inside");
  for (const auto& d : layout.data) Require(d.data.end() <= size, "data inside");
}

std::vector<std::string_view> OtherSections(std::string_view bytes,
                                            const binary::ModuleLayout& layout) {
  std::vector<std::string_view> out;
  for (const auto& s : layout.sections) {
    if (s.id != static_cast<std::uint8_t>(binary::SectionId::kExport)) {
      out.push_back(s.whole.In(bytes));
    }
  }
  return out;
}

// The memory the module starts with, or false when it is not a plain image
// of constant, in-bounds segments of a small memory.
bool InitialMemory(std::string_view bytes, const binary::ModuleLayout& layout, std::string& out) {
  const std::uint64_t pages = layout.memories[0].limits.min;
  const auto& max = layout.memories[0].limits.max;
  if (pages > kMaxPages || (max && *max < pages)) return false;  // the latter is not valid
  out.assign(pages * binary::kPageBytes, '\0');
  for (const auto& segment : layout.data) {
    if (!segment.const_offset || *segment.const_offset > out.size() ||
        segment.data.size > out.size() - *segment.const_offset) {
      return false;
    }
    std::memcpy(out.data() + *segment.const_offset, bytes.data() + segment.data.offset,
                segment.data.size);
  }
  return true;
}

void CheckRewrite(std::string_view bytes, const binary::ModuleLayout& layout) {
  if (!binary::CheckSnapshottable(layout).ok()) return;
  std::string memory;
  if (!InitialMemory(bytes, layout, memory)) return;
  binary::SnapshotState state;
  state.memory_pages = layout.memories[0].limits.min;
  state.memory = memory;
  for (const auto& global : layout.globals) {
    if (!global.is_mutable) continue;
    if (!global.const_bits) return;  // e.g. global.get or v128: not a plain start value
    state.globals[global.index] = binary::GlobalValue{global.type, *global.const_bits};
  }
  binary::RewriteOptions options;
  options.segments.max_segments = 3;
  auto snapshot = binary::Rewrite(bytes, layout, state, options);
  Require(snapshot.ok(), "Rewrite accepts the state a snapshottable module starts with",
          snapshot.ok() ? "" : snapshot.error().message);
  auto after = binary::ParseLayout(*snapshot);
  Require(after.ok(), "a snapshot parses", after.ok() ? "" : after.error().message);
  Require(after->data.size() <= 3, "the segment cap holds");
  std::string rebuilt;
  Require(InitialMemory(*snapshot, *after, rebuilt) && rebuilt == memory,
          "the snapshot's segments rebuild its memory");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = discoblocks::fuzz::AsText(data, size);
  auto layout = binary::ParseLayout(bytes);
  if (!layout.ok()) {
    Require(!layout.error().message.empty(), "a refusal says why");
    return 0;
  }
  CheckTiling(*layout, size);

  auto instrumented = binary::Instrument(bytes, *layout);
  if (!instrumented.ok()) {
    Require(instrumented.error().message.find("already exports") != std::string::npos,
            "Instrument refuses only a clashing export", instrumented.error().message);
  } else {
    auto again = binary::ParseLayout(instrumented->bytes);
    Require(again.ok(), "an instrumented module parses", again.ok() ? "" : again.error().message);
    CheckTiling(*again, instrumented->bytes.size());
    const std::size_t added =
        instrumented->globals.size() + instrumented->tables.size() +
        (layout->memories.empty() || layout->FindExport(instrumented->memory) ? 0 : 1);
    Require(again->exports.size() == layout->exports.size() + added, "only exports are added");
    Require(OtherSections(bytes, *layout) == OtherSections(instrumented->bytes, *again),
            "Instrument keeps every other section");
    Require(!binary::Instrument(instrumented->bytes, *again).ok() || added == 0,
            "instrumenting twice is refused");
  }
  CheckRewrite(bytes, *layout);
  return 0;
}
