#include "wasm/wasm_rewrite.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>

#include <fmt/format.h>

namespace discoblocks::wasm::binary {
namespace {

Status CheckLayoutMatches(std::string_view bytes, const ModuleLayout& layout) {
  if (layout.module_size != bytes.size()) {
    return MakeError(fmt::format("the layout is of a module of {} bytes, not of these {} bytes",
                                 layout.module_size, bytes.size()));
  }
  return {};
}

// Where a section that the module lacks goes: after the last non-custom section
// that must come before it, so that custom sections after that one (e.g.
// `name` after the code) stay after the new section too.
std::size_t InsertionPoint(const ModuleLayout& layout, SectionId id) {
  const int rank = SectionRank(static_cast<std::uint8_t>(id));
  std::size_t at = 0;
  for (std::size_t i = 0; i < layout.sections.size(); ++i) {
    const int other = SectionRank(layout.sections[i].id);
    if (other > 0 && other < rank) at = i + 1;
  }
  return at;
}

// What to do with one section of the input.
struct Edit {
  enum Kind { kCopy, kDrop, kReplace } kind = kCopy;
  std::string content;  // kReplace
};

// Writes the header and every section of `bytes` as `edit` says, and a section
// `added_id` with `added` content at its place when the module has none (when
// `added` has a value).
std::string Assemble(std::string_view bytes, const ModuleLayout& layout,
                     const std::function<Edit(const Section&)>& edit, SectionId added_id,
                     const std::optional<std::string>& added) {
  std::string out;
  out.reserve(bytes.size() + (added ? added->size() + 6 : 0));
  out.append(bytes.substr(0, 8));
  const std::size_t insert_at = InsertionPoint(layout, added_id);
  for (std::size_t i = 0; i <= layout.sections.size(); ++i) {
    if (i == insert_at && added) WriteSection(out, added_id, *added);
    if (i == layout.sections.size()) break;
    const Section& section = layout.sections[i];
    Edit e = edit(section);
    if (e.kind == Edit::kCopy) out.append(section.whole.In(bytes));
    if (e.kind == Edit::kReplace) WriteSection(out, static_cast<SectionId>(section.id), e.content);
  }
  return out;
}

void AppendExport(std::string& out, std::string_view name, ExternalKind kind, std::uint32_t index) {
  WriteName(out, name);
  out.push_back(static_cast<char>(kind));
  WriteU32(out, index);
}

void AppendLittleEndian(std::string& out, std::uint64_t bits, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

// A constant expression giving `value`, `end` included.
std::string ConstExpr(const GlobalValue& value) {
  std::string out;
  switch (value.type) {
    case valtype::kI32:
      out.push_back(0x41);
      WriteS32(out, static_cast<std::int32_t>(static_cast<std::uint32_t>(value.bits)));
      break;
    case valtype::kI64:
      out.push_back(0x42);
      WriteS64(out, static_cast<std::int64_t>(value.bits));
      break;
    case valtype::kF32:
      out.push_back(0x43);
      AppendLittleEndian(out, value.bits, 4);
      break;
    case valtype::kF64:
      out.push_back(0x44);
      AppendLittleEndian(out, value.bits, 8);
      break;
    default:  // v128, the only other type CheckSnapshottable lets through
      out.push_back(static_cast<char>(0xfd));
      WriteU32(out, 12);
      out.append(reinterpret_cast<const char*>(value.v128.data()), value.v128.size());
  }
  out.push_back(0x0b);
  return out;
}

// The first index at or after `from` whose byte is not zero, or memory.size().
std::size_t SkipZeros(std::string_view memory, std::size_t from) {
  while (from < memory.size() && from % 8 != 0 && memory[from] == 0) ++from;
  // Whole words at a time: a snapshot is mostly zero pages.
  while (from + 8 <= memory.size()) {
    std::uint64_t word = 0;
    std::memcpy(&word, memory.data() + from, 8);
    if (word != 0) break;
    from += 8;
  }
  while (from < memory.size() && memory[from] == 0) ++from;
  return from;
}

Status CheckState(const ModuleLayout& layout, const SnapshotState& state) {
  const Limits& limits = layout.memories[0].limits;
  if (state.memory_pages < limits.min) {
    return MakeError(
        fmt::format("the snapshot's memory has {} pages, below the module's "
                    "minimum of {}",
                    state.memory_pages, limits.min));
  }
  if ((limits.max && state.memory_pages > *limits.max) || state.memory_pages > 65536) {
    return MakeError(
        fmt::format("the snapshot's memory has {} pages, above the module's maximum "
                    "of {}",
                    state.memory_pages, limits.max.value_or(65536)));
  }
  if (state.memory.size() != state.memory_pages * kPageBytes) {
    return MakeError(fmt::format("the snapshot's memory is {} bytes, not {} pages of 64 KiB",
                                 state.memory.size(), state.memory_pages));
  }
  std::size_t mutable_globals = 0;
  for (const Global& global : layout.globals) {
    if (!global.is_mutable) continue;
    ++mutable_globals;
    const auto value = state.globals.find(global.index);
    if (value == state.globals.end()) {
      return MakeError(
          fmt::format("the snapshot has no value for mutable global {}", global.index));
    }
    if (value->second.type != global.type) {
      return MakeError(fmt::format("the snapshot's value for global {} is {}, the global is {}",
                                   global.index, ValTypeName(value->second.type),
                                   ValTypeName(global.type)));
    }
  }
  if (state.globals.size() != mutable_globals) {
    return MakeError(fmt::format("the snapshot has {} global values for {} mutable globals",
                                 state.globals.size(), mutable_globals));
  }
  return {};
}

}  // namespace

Result<Instrumented> Instrument(std::string_view bytes, const ModuleLayout& layout) {
  if (Status matches = CheckLayoutMatches(bytes, layout); !matches) return matches.error();
  Instrumented result;
  for (const Export& e : layout.exports) {
    if (e.name.starts_with(kPreinitExportPrefix)) {
      return MakeError(
          fmt::format("the module already exports \"{}\", a name reserved for the "
                      "snapshot's instrumentation",
                      e.name));
    }
    if (e.kind == ExternalKind::kMemory && e.index == 0 && result.memory.empty()) {
      result.memory = e.name;
    }
  }
  std::string added;
  std::uint32_t added_count = 0;
  for (const Global& global : layout.globals) {
    if (!global.is_mutable) continue;
    std::string name = fmt::format("{}global_{}", kPreinitExportPrefix, global.index);
    AppendExport(added, name, ExternalKind::kGlobal, global.index);
    result.globals.emplace(global.index, std::move(name));
    ++added_count;
  }
  for (std::uint32_t index = layout.imported_tables; index < layout.tables.size(); ++index) {
    std::string name = fmt::format("{}table_{}", kPreinitExportPrefix, index);
    AppendExport(added, name, ExternalKind::kTable, index);
    result.tables.emplace(index, std::move(name));
    ++added_count;
  }
  if (result.memory.empty() && !layout.memories.empty()) {
    result.memory = fmt::format("{}memory", kPreinitExportPrefix);
    AppendExport(added, result.memory, ExternalKind::kMemory, 0);
    ++added_count;
  }

  const auto exports_content = [&](const Section* section) {
    std::string content;
    WriteU32(content, static_cast<std::uint32_t>(layout.exports.size()) + added_count);
    if (!layout.exports.empty()) {
      content.append(bytes.substr(layout.exports.front().entry.offset,
                                  section->content.end() - layout.exports.front().entry.offset));
    }
    return content + added;
  };
  const Section* existing = layout.Find(SectionId::kExport);
  std::optional<std::string> inserted;
  if (existing == nullptr && added_count > 0) inserted = exports_content(nullptr);
  result.bytes = Assemble(
      bytes, layout,
      [&](const Section& section) {
        if (section.id != static_cast<std::uint8_t>(SectionId::kExport) || added_count == 0) {
          return Edit{};
        }
        return Edit{Edit::kReplace, exports_content(&section)};
      },
      SectionId::kExport, inserted);
  return result;
}

std::vector<Range> SnapshotSegments(std::string_view memory, const SegmentOptions& options) {
  std::vector<Range> runs;
  std::size_t at = SkipZeros(memory, 0);
  while (at < memory.size()) {
    std::size_t end = at;
    while (end < memory.size() && memory[end] != 0) ++end;
    const std::size_t next = SkipZeros(memory, end);
    if (!runs.empty() && at - runs.back().end() <= options.max_gap) {
      runs.back().size = end - runs.back().offset;
    } else {
      runs.push_back(Range{at, end - at});
    }
    at = next;
  }
  const std::size_t cap = std::max<std::size_t>(options.max_segments, 1);
  if (runs.size() <= cap) return runs;

  // Merge away the (runs - cap) smallest gaps: find the gap length at that
  // rank, merge every gap below it and, in order, as many equal to it as needed.
  const std::size_t to_merge = runs.size() - cap;
  std::vector<std::size_t> gaps(runs.size() - 1);
  for (std::size_t i = 0; i + 1 < runs.size(); ++i) gaps[i] = runs[i + 1].offset - runs[i].end();
  std::vector<std::size_t> sorted = gaps;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(to_merge - 1),
                   sorted.end());
  const std::size_t threshold = sorted[to_merge - 1];
  std::size_t below = 0;
  for (std::size_t gap : gaps) below += gap < threshold ? 1 : 0;
  std::size_t equal_to_merge = to_merge - below;
  std::vector<Range> merged;
  merged.reserve(cap);
  merged.push_back(runs[0]);
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const std::size_t gap = gaps[i - 1];
    bool merge = gap < threshold;
    if (!merge && gap == threshold && equal_to_merge > 0) {
      merge = true;
      --equal_to_merge;
    }
    if (merge) {
      merged.back().size = runs[i].end() - merged.back().offset;
    } else {
      merged.push_back(runs[i]);
    }
  }
  return merged;
}

Status CheckSnapshottable(const ModuleLayout& layout) {
  if (layout.imported_memories > 0 || layout.imported_tables > 0 || layout.imported_globals > 0) {
    return MakeError(
        fmt::format("the module imports {} memories, {} tables and {} globals; a "
                    "snapshot cannot capture state the host owns",
                    layout.imported_memories, layout.imported_tables, layout.imported_globals));
  }
  if (layout.memories.size() != 1) {
    return MakeError(fmt::format("the module has {} memories; a snapshot needs exactly one",
                                 layout.memories.size()));
  }
  if (layout.memories[0].limits.is64) return MakeError("the module's memory is a memory64");
  if (layout.memories[0].limits.shared) return MakeError("the module's memory is shared");
  for (const Global& global : layout.globals) {
    if (global.is_mutable && !IsNumericOrVector(global.type)) {
      return MakeError(
          fmt::format("global {} is a mutable reference; its value cannot be "
                      "written as a constant",
                      global.index));
    }
  }
  for (std::size_t i = 0; i < layout.data.size(); ++i) {
    if (layout.data[i].mode == DataMode::kPassive) {
      return MakeError(
          fmt::format("data segment {} is passive; memory.init could copy it again "
                      "after the snapshot",
                      i));
    }
  }
  return {};
}

Result<std::string> Rewrite(std::string_view bytes, const ModuleLayout& layout,
                            const SnapshotState& state, const RewriteOptions& options) {
  if (Status matches = CheckLayoutMatches(bytes, layout); !matches) return matches.error();
  if (Status able = CheckSnapshottable(layout); !able) return able.error();
  if (Status fits = CheckState(layout, state); !fits) return fits.error();

  const std::vector<Range> segments = SnapshotSegments(state.memory, options.segments);
  std::string data;
  WriteU32(data, static_cast<std::uint32_t>(segments.size()));
  for (const Range& segment : segments) {
    if (segment.size > UINT32_MAX) {
      return MakeError("a data segment of the snapshot would be 4 GiB, above what its size holds");
    }
    data.push_back(0x00);  // active, memory 0
    data.push_back(0x41);  // i32.const: offsets past 2 GiB wrap to negative values
    WriteS32(data, static_cast<std::int32_t>(static_cast<std::uint32_t>(segment.offset)));
    data.push_back(0x0b);
    WriteU32(data, static_cast<std::uint32_t>(segment.size));
    data.append(segment.In(state.memory));
  }

  const auto edit = [&](const Section& section) -> Edit {
    std::string content;
    switch (static_cast<SectionId>(section.id)) {
      case SectionId::kMemory: {
        const Limits& limits = layout.memories[0].limits;
        WriteU32(content, 1);
        content.push_back(limits.max ? 0x01 : 0x00);
        WriteU32(content, static_cast<std::uint32_t>(state.memory_pages));
        if (limits.max) WriteU32(content, static_cast<std::uint32_t>(*limits.max));
        return Edit{Edit::kReplace, std::move(content)};
      }
      case SectionId::kGlobal:
        WriteU32(content, static_cast<std::uint32_t>(layout.globals.size()));
        for (const Global& global : layout.globals) {
          if (!global.is_mutable) {
            content.append(global.entry.In(bytes));
            continue;
          }
          content.append(
              bytes.substr(global.entry.offset, global.init.offset - global.entry.offset));
          content.append(ConstExpr(state.globals.at(global.index)));
        }
        return Edit{Edit::kReplace, std::move(content)};
      case SectionId::kExport: {
        std::uint32_t kept = 0;
        std::string entries;
        for (const Export& e : layout.exports) {
          if (e.name.starts_with(kPreinitExportPrefix)) continue;
          if (e.name == kInitializeExport && !options.keep_initialize) continue;
          entries.append(e.entry.In(bytes));
          ++kept;
        }
        WriteU32(content, kept);
        return Edit{Edit::kReplace, content + entries};
      }
      case SectionId::kStart:
        return Edit{Edit::kDrop, {}};
      case SectionId::kDataCount:
        WriteU32(content, static_cast<std::uint32_t>(segments.size()));
        return Edit{Edit::kReplace, std::move(content)};
      case SectionId::kData:
        return Edit{Edit::kReplace, data};
      default:
        return Edit{};
    }
  };
  std::optional<std::string> inserted;
  if (layout.Find(SectionId::kData) == nullptr && !segments.empty()) inserted = data;
  return Assemble(bytes, layout, edit, SectionId::kData, inserted);
}

}  // namespace discoblocks::wasm::binary
