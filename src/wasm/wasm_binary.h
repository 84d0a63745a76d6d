// A reader of the WebAssembly binary format, just deep enough for the snapshot
// rewriter (wasm_rewrite.h): where each section is, the imports, tables,
// memories, globals (type, mutability, init expression), exports, the start
// function and the data segments. Types, function bodies and element segments
// are not decoded: the rewriter copies them byte for byte.
//
// Pure C++, no Wasmtime. Callers validate a module with Wasmtime before
// rewriting it, yet every read here is bounds-checked anyway: hostile bytes get
// an error naming the offset (and section), never a crash, a hang or an
// allocation larger than the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "wasm/wasm_leb.h"

namespace discoblocks::wasm::binary {

inline constexpr std::size_t kPageBytes = 65536;

enum class SectionId : std::uint8_t {
  kCustom = 0,
  kType = 1,
  kImport = 2,
  kFunction = 3,
  kTable = 4,
  kMemory = 5,
  kGlobal = 6,
  kExport = 7,
  kStart = 8,
  kElement = 9,
  kCode = 10,
  kData = 11,
  kDataCount = 12,
  kTag = 13,
};
// "type", "import", ..., "datacount", "tag", or "unknown" for another id.
std::string_view SectionName(std::uint8_t id);
// Where a non-custom section must come relative to the others (the spec's order,
// with datacount between element and code and tag between memory and global).
// 0 for custom sections, which may appear anywhere.
int SectionRank(std::uint8_t id);

enum class ExternalKind : std::uint8_t {
  kFunction = 0,
  kTable = 1,
  kMemory = 2,
  kGlobal = 3,
  kTag = 4
};

// Value types by their first byte. Reference types written with a heap type
// (0x63, 0x64 followed by an s33) keep their prefix byte here.
namespace valtype {
inline constexpr std::uint8_t kI32 = 0x7f;
inline constexpr std::uint8_t kI64 = 0x7e;
inline constexpr std::uint8_t kF32 = 0x7d;
inline constexpr std::uint8_t kF64 = 0x7c;
inline constexpr std::uint8_t kV128 = 0x7b;
}  // namespace valtype
// i32, i64, f32, f64 or v128: a global of such a type holds plain bits.
bool IsNumericOrVector(std::uint8_t type);
std::string_view ValTypeName(std::uint8_t type);  // "i32", ..., "reference type 0x70"

// A byte range of the module.
struct Range {
  std::size_t offset = 0;
  std::size_t size = 0;
  [[nodiscard]] std::size_t end() const { return offset + size; }
  [[nodiscard]] std::string_view In(std::string_view bytes) const {
    return bytes.substr(offset, size);
  }
};

struct Section {
  std::uint8_t id = 0;
  Range whole;       // from the id byte to the end of the content
  Range content;     // after the size
  std::string name;  // custom sections only
};

struct Limits {
  std::uint64_t min = 0;
  std::optional<std::uint64_t> max;
  bool shared = false;
  bool is64 = false;  // memory64 (or table64): 64-bit limits and addresses
};

struct Table {
  bool imported = false;
  std::uint8_t element_type = 0;  // first byte of the reference type
  Limits limits;
};

struct Memory {
  bool imported = false;
  Limits limits;
};

// A global defined by the module (imported ones are only counted).
struct Global {
  std::uint32_t index = 0;  // in the global index space (after the imported ones)
  std::uint8_t type = 0;
  bool is_mutable = false;
  Range entry;  // type, mutability and init expression
  Range init;   // the init expression, its final `end` included
  // The value's bits when init is a single i32/i64/f32/f64.const (i32 and f32 in
  // the low 32 bits): what the global holds before any code runs.
  std::optional<std::uint64_t> const_bits;
};

struct Export {
  std::string name;
  ExternalKind kind = ExternalKind::kFunction;
  std::uint32_t index = 0;
  Range entry;
};

enum class DataMode { kActive, kPassive };

struct DataSegment {
  DataMode mode = DataMode::kActive;
  std::uint32_t memory_index = 0;  // active only
  Range offset_expr;               // active only, its final `end` included
  // The offset when offset_expr is a single i32.const (read as unsigned) or i64.const.
  std::optional<std::uint64_t> const_offset;
  Range data;
  Range entry;
};

struct ModuleLayout {
  std::size_t module_size = 0;
  std::vector<Section> sections;  // in file order, custom ones included

  std::uint32_t imported_functions = 0;
  std::uint32_t imported_tables = 0;
  std::uint32_t imported_memories = 0;
  std::uint32_t imported_globals = 0;
  std::uint32_t imported_tags = 0;
  std::uint32_t defined_functions = 0;  // entries of the function section

  std::vector<Table> tables;     // index space order: imported first
  std::vector<Memory> memories;  // index space order: imported first
  std::vector<Global> globals;   // defined ones only, in order
  std::vector<Export> exports;
  std::optional<std::uint32_t> start;
  std::vector<DataSegment> data;
  std::optional<std::uint32_t> data_count;

  // The first section with this id, or null.
  [[nodiscard]] const Section* Find(SectionId id) const;
  [[nodiscard]] const Export* FindExport(std::string_view name) const;
};

// Reads the module's layout. Fails, naming the offset and the section, on a bad
// magic or version, a truncated or overlong LEB128, a count or length past the
// end of its section, sections out of order or repeated, a section whose content
// does not end where its size says, an unknown kind or opcode, or a function and
// code section that disagree.
Result<ModuleLayout> ParseLayout(std::string_view bytes);

}  // namespace discoblocks::wasm::binary
