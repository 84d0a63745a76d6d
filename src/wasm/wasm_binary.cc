#include "wasm/wasm_binary.h"

#include <array>

#include <fmt/format.h>

namespace discoblocks::wasm::binary {

std::string_view SectionName(std::uint8_t id) {
  static constexpr std::array<std::string_view, 14> kNames = {
      "custom", "type",  "import",  "function", "table", "memory",    "global",
      "export", "start", "element", "code",     "data",  "datacount", "tag"};
  return id < kNames.size() ? kNames[id] : "unknown";
}

int SectionRank(std::uint8_t id) {
  switch (static_cast<SectionId>(id)) {
    case SectionId::kCustom:
      return 0;
    case SectionId::kType:
      return 1;
    case SectionId::kImport:
      return 2;
    case SectionId::kFunction:
      return 3;
    case SectionId::kTable:
      return 4;
    case SectionId::kMemory:
      return 5;
    case SectionId::kTag:
      return 6;
    case SectionId::kGlobal:
      return 7;
    case SectionId::kExport:
      return 8;
    case SectionId::kStart:
      return 9;
    case SectionId::kElement:
      return 10;
    case SectionId::kDataCount:
      return 11;
    case SectionId::kCode:
      return 12;
    case SectionId::kData:
      return 13;
  }
  return -1;
}

bool IsNumericOrVector(std::uint8_t type) {
  return type >= valtype::kV128 && type <= valtype::kI32;
}

std::string_view ValTypeName(std::uint8_t type) {
  switch (type) {
    case valtype::kI32:
      return "i32";
    case valtype::kI64:
      return "i64";
    case valtype::kF32:
      return "f32";
    case valtype::kF64:
      return "f64";
    case valtype::kV128:
      return "v128";
    default:
      return "a reference type";
  }
}

const Section* ModuleLayout::Find(SectionId id) const {
  for (const auto& section : sections) {
    if (section.id == static_cast<std::uint8_t>(id)) return &section;
  }
  return nullptr;
}

const Export* ModuleLayout::FindExport(std::string_view name) const {
  for (const auto& e : exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// ---- Parsing ----

namespace {

std::uint64_t LittleEndian(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  }
  return value;
}

// A value type; reference types with a heap type (0x63 ref null ht, 0x64 ref
// ht) read their heap type too.
std::uint8_t ReadValType(Reader& r) {
  const std::size_t at = r.offset();
  const std::uint8_t type = r.Byte();
  if (IsNumericOrVector(type) || (type >= 0x69 && type <= 0x74)) return type;
  if (type == 0x63 || type == 0x64) {
    r.S33();
    return type;
  }
  r.FailAt(at, fmt::format("unknown value type 0x{:02x}", type));
  return 0;
}

Limits ReadLimits(Reader& r) {
  Limits limits;
  const std::size_t at = r.offset();
  const std::uint8_t flags = r.Byte();
  if (flags > 7) {
    r.FailAt(at, fmt::format("unknown limits flags 0x{:02x}", flags));
    return limits;
  }
  limits.shared = (flags & 2) != 0;
  limits.is64 = (flags & 4) != 0;
  limits.min = limits.is64 ? r.U64() : r.U32();
  if ((flags & 1) != 0) limits.max = limits.is64 ? r.U64() : r.U32();
  return limits;
}

Table ReadTableType(Reader& r) {
  Table table;
  table.element_type = ReadValType(r);
  table.limits = ReadLimits(r);
  return table;
}

struct ConstExpr {
  Range range;
  std::optional<std::uint64_t> single_const;  // bits of a lone numeric *.const
};

// A constant expression up to and including its `end`. Constant expressions
// have no blocks, so there is no nesting to bound; each instruction consumes at
// least a byte, so the loop ends with the section.
ConstExpr ReadConstExpr(Reader& r) {
  ConstExpr expr;
  expr.range.offset = r.offset();
  int instructions = 0;
  std::optional<std::uint64_t> value;
  while (r.ok()) {
    const std::size_t at = r.offset();
    const std::uint8_t op = r.Byte();
    if (op == 0x0b) break;
    ++instructions;
    value.reset();
    switch (op) {
      case 0x41:
        value = static_cast<std::uint32_t>(r.S32());
        break;  // i32.const
      case 0x42:
        value = static_cast<std::uint64_t>(r.S64());
        break;  // i64.const
      case 0x43:
        value = LittleEndian(r.Bytes(4));
        break;  // f32.const
      case 0x44:
        value = LittleEndian(r.Bytes(8));
        break;  // f64.const
      case 0x23:
        r.U32();
        break;  // global.get
      case 0xd0:
        r.S33();
        break;  // ref.null
      case 0xd2:
        r.U32();
        break;  // ref.func
      case 0x6a:
      case 0x6b:
      case 0x6c:  // i32.add/sub/mul (extended constants)
      case 0x7c:
      case 0x7d:
      case 0x7e:  // i64.add/sub/mul
        break;
      case 0xfd: {  // SIMD: only v128.const is constant
        if (r.U32() != 12) r.FailAt(at, "unsupported SIMD opcode in a constant expression");
        r.Bytes(16);
        break;
      }
      case 0xfb: {  // GC constant instructions
        const std::uint32_t sub = r.U32();
        if (sub == 0 || sub == 1 || sub == 6 || sub == 7) {
          r.U32();
        } else if (sub == 8) {
          r.U32();
          r.U32();
        } else if (sub < 0x1a || sub > 0x1c) {
          r.FailAt(at, fmt::format("unsupported GC opcode 0xfb {} in a constant expression", sub));
        }
        break;
      }
      default:
        r.FailAt(at, fmt::format("opcode 0x{:02x} is not allowed in a constant expression", op));
    }
  }
  expr.range.size = r.offset() - expr.range.offset;
  if (r.ok() && instructions == 1 && value) expr.single_const = value;
  return expr;
}

void ParseImports(Reader& r, ModuleLayout& layout) {
  const std::uint32_t count = r.Count("imports", 4);
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    r.Name();
    r.Name();
    const std::size_t at = r.offset();
    switch (r.Byte()) {
      case 0:
        r.U32();
        ++layout.imported_functions;
        break;
      case 1: {
        Table table = ReadTableType(r);
        table.imported = true;
        layout.tables.push_back(table);
        ++layout.imported_tables;
        break;
      }
      case 2:
        layout.memories.push_back(Memory{.imported = true, .limits = ReadLimits(r)});
        ++layout.imported_memories;
        break;
      case 3:
        ReadValType(r);
        if (r.Byte() > 1) r.Fail("global mutability is neither 0 nor 1");
        ++layout.imported_globals;
        break;
      case 4:
        if (r.Byte() != 0) r.Fail("tag attribute is not 0");
        r.U32();
        ++layout.imported_tags;
        break;
      default:
        r.FailAt(at, "unknown import kind");
    }
  }
}

void ParseTables(Reader& r, ModuleLayout& layout) {
  const std::uint32_t count = r.Count("tables", 2);
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    // 0x40 0x00: a table with an explicit initializer expression.
    const bool with_init = r.Peek() == 0x40;
    if (with_init) {
      r.Byte();
      if (r.Byte() != 0) r.Fail("reserved byte after 0x40 in a table is not 0");
    }
    layout.tables.push_back(ReadTableType(r));
    if (with_init) ReadConstExpr(r);
  }
}

void ParseGlobals(Reader& r, ModuleLayout& layout) {
  const std::uint32_t count = r.Count("globals", 3);
  layout.globals.reserve(count);
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    Global global;
    global.index = layout.imported_globals + i;
    global.entry.offset = r.offset();
    global.type = ReadValType(r);
    const std::uint8_t mutability = r.Byte();
    if (mutability > 1) r.Fail("global mutability is neither 0 nor 1");
    global.is_mutable = mutability == 1;
    const ConstExpr init = ReadConstExpr(r);
    global.init = init.range;
    global.const_bits = init.single_const;
    global.entry.size = r.offset() - global.entry.offset;
    layout.globals.push_back(global);
  }
}

void ParseExports(Reader& r, ModuleLayout& layout) {
  const std::uint32_t count = r.Count("exports", 3);
  layout.exports.reserve(count);
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    Export e;
    e.entry.offset = r.offset();
    e.name = std::string(r.Name());
    const std::size_t at = r.offset();
    const std::uint8_t kind = r.Byte();
    if (kind > 4) r.FailAt(at, fmt::format("unknown export kind {}", kind));
    e.kind = static_cast<ExternalKind>(kind);
    e.index = r.U32();
    e.entry.size = r.offset() - e.entry.offset;
    layout.exports.push_back(std::move(e));
  }
}

void ParseData(Reader& r, ModuleLayout& layout) {
  const std::uint32_t count = r.Count("data segments", 2);
  layout.data.reserve(count);
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    DataSegment segment;
    segment.entry.offset = r.offset();
    const std::uint32_t flags = r.U32();
    if (flags == 1) {
      segment.mode = DataMode::kPassive;
    } else if (flags == 0 || flags == 2) {
      segment.memory_index = flags == 2 ? r.U32() : 0;
      const ConstExpr offset = ReadConstExpr(r);
      segment.offset_expr = offset.range;
      segment.const_offset = offset.single_const;
    } else {
      r.FailAt(segment.entry.offset, fmt::format("unknown data segment flags {}", flags));
    }
    const std::uint32_t size = r.U32();
    segment.data.offset = r.offset();
    segment.data.size = r.Bytes(size).size();
    segment.entry.size = r.offset() - segment.entry.offset;
    layout.data.push_back(segment);
  }
}

void ParseCode(Reader& r, std::uint32_t& bodies) {
  bodies = r.Count("function bodies", 1);
  for (std::uint32_t i = 0; i < bodies && r.ok(); ++i) {
    const std::uint32_t size = r.U32();
    r.Bytes(size);
  }
}

void ParseContent(Reader& r, const Section& section, ModuleLayout& layout,
                  std::uint32_t& code_bodies) {
  switch (static_cast<SectionId>(section.id)) {
    case SectionId::kImport:
      ParseImports(r, layout);
      break;
    case SectionId::kFunction: {
      layout.defined_functions = r.Count("functions", 1);
      for (std::uint32_t i = 0; i < layout.defined_functions && r.ok(); ++i) r.U32();
      break;
    }
    case SectionId::kTable:
      ParseTables(r, layout);
      break;
    case SectionId::kMemory: {
      const std::uint32_t count = r.Count("memories", 2);
      for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
        layout.memories.push_back(Memory{.imported = false, .limits = ReadLimits(r)});
      }
      break;
    }
    case SectionId::kGlobal:
      ParseGlobals(r, layout);
      break;
    case SectionId::kExport:
      ParseExports(r, layout);
      break;
    case SectionId::kStart:
      layout.start = r.U32();
      break;
    case SectionId::kDataCount:
      layout.data_count = r.U32();
      break;
    case SectionId::kCode:
      ParseCode(r, code_bodies);
      break;
    case SectionId::kData:
      ParseData(r, layout);
      break;
    case SectionId::kCustom:
      r.Bytes(r.remaining());
      break;  // the name was read already
    // Copied verbatim by the rewriter; nothing in them is needed.
    case SectionId::kType:
    case SectionId::kElement:
    case SectionId::kTag:
      r.Bytes(r.remaining());
      break;
  }
}

}  // namespace

Result<ModuleLayout> ParseLayout(std::string_view bytes) {
  ModuleLayout layout;
  layout.module_size = bytes.size();
  Reader top(bytes, 0, bytes.size(), "");
  if (top.Bytes(4) != std::string_view("\0asm", 4)) {
    return MakeError("offset 0x0: not a WebAssembly module (no \\0asm magic)");
  }
  const std::string_view version = top.Bytes(4);
  if (version != std::string_view("\1\0\0\0", 4)) {
    return MakeError("offset 0x4: not a WebAssembly 1.0 module (version is not 1; a component?)");
  }
  int last_rank = 0;
  std::uint8_t last_id = 0;
  std::uint32_t code_bodies = 0;
  while (top.ok() && !top.AtEnd()) {
    Section section;
    section.whole.offset = top.offset();
    section.id = top.Byte();
    const int rank = SectionRank(section.id);
    if (rank < 0) {
      top.FailAt(section.whole.offset, fmt::format("unknown section id {}", section.id));
      break;
    }
    const std::size_t size_at = top.offset();
    const std::uint32_t size = top.U32();
    if (top.ok() && size > top.remaining()) {
      top.FailAt(size_at, fmt::format("{} section of {} bytes, only {} left",
                                      SectionName(section.id), size, top.remaining()));
    }
    if (!top.ok()) break;
    section.content = Range{top.offset(), size};
    top.Bytes(size);
    section.whole.size = top.offset() - section.whole.offset;
    if (rank > 0 && rank <= last_rank) {
      return MakeError(
          fmt::format("offset 0x{:x}: {} section after the {} section (out of order "
                      "or repeated)",
                      section.whole.offset, SectionName(section.id), SectionName(last_id)));
    }
    if (rank > 0) {
      last_rank = rank;
      last_id = section.id;
    }
    Reader r(bytes, section.content.offset, section.content.end(),
             fmt::format("{} section", SectionName(section.id)));
    if (section.id == 0) {
      section.name = std::string(r.Name());
      r.set_context(fmt::format("custom section \"{}\"", section.name));
    }
    ParseContent(r, section, layout, code_bodies);
    if (r.ok() && !r.AtEnd()) {
      r.Fail(fmt::format("content ends {} bytes before the section's end", r.remaining()));
    }
    if (!r.ok()) return MakeError(r.error());
    layout.sections.push_back(std::move(section));
  }
  if (!top.ok()) return MakeError(top.error());
  if (code_bodies != layout.defined_functions) {
    return MakeError(
        fmt::format("the function section declares {} functions but the code "
                    "section has {} bodies",
                    layout.defined_functions, code_bodies));
  }
  if (layout.data_count && *layout.data_count != layout.data.size()) {
    return MakeError(
        fmt::format("the datacount section says {} data segments but the data "
                    "section has {}",
                    *layout.data_count, layout.data.size()));
  }
  return layout;
}

}  // namespace discoblocks::wasm::binary
