// The binary reader (wasm_binary.h) and the snapshot rewrites (wasm_rewrite.h):
// LEB128 at its edges, hostile layouts refused with their offset, every
// refusal of Rewrite, and the bundled drivers surviving Instrument and a
// Rewrite with the state they start with, checked by Wasmtime and by a call.
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/conformance.h"
#include "drivers/driver.h"
#include "support/test_support.h"
#include "wasm/module.h"
#include "wasm/wasm_binary.h"
#include "wasm/wasm_rewrite.h"

namespace discoblocks::wasm::binary {
namespace {

using testing::DriversDir;
using testing::HostileDir;
using testing::ReadBytes;
using testing::SharedEngine;

std::string B(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

std::string Sec(int id, const std::string& content) {
  std::string out(1, static_cast<char>(id));
  WriteU32(out, static_cast<std::uint32_t>(content.size()));
  return out + content;
}

std::string Mod(std::initializer_list<std::string> sections) {
  std::string out("\0asm\1\0\0\0", 8);
  for (const auto& s : sections) out += s;
  return out;
}

std::string Custom(const std::string& name, const std::string& payload) {
  std::string content;
  WriteName(content, name);
  return Sec(0, content + payload);
}

// ---- LEB128 ----

struct Leb {
  std::string bytes;
  bool ok;
  std::uint64_t value;
};

// A Reader views its bytes: they must be a named string that outlives it.
Reader At(const std::string& bytes) { return Reader(bytes, 0, bytes.size(), "test"); }
Reader At(std::string&& bytes) = delete;

TEST(Leb128Test, UnsignedEdges) {
  for (const Leb& c : std::vector<Leb>{
           {B({0x00}), true, 0},
           {B({0x7f}), true, 127},
           {B({0x80, 0x01}), true, 128},
           {B({0xff, 0xff, 0xff, 0xff, 0x0f}), true, UINT32_MAX},
           {B({0x80, 0x80, 0x80, 0x80, 0x00}), true, 0},         // padded within 5 bytes: valid
           {B({0xff, 0xff, 0xff, 0xff, 0x1f}), false, 0},        // bit 32 set
           {B({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), false, 0},  // 6 bytes
           {B({0x80}), false, 0},
           {B({}), false, 0},
       }) {
    Reader r = At(c.bytes);
    const std::uint32_t value = r.U32();
    EXPECT_EQ(r.ok(), c.ok) << ::testing::PrintToString(c.bytes) << " " << r.error();
    if (c.ok) {
      EXPECT_EQ(value, c.value);
    }
  }
  const std::string big_bytes = B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01});
  Reader big = At(big_bytes);
  EXPECT_EQ(big.U64(), UINT64_MAX);
  const std::string over_bytes = B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
  Reader over = At(over_bytes);
  over.U64();
  EXPECT_NE(over.error().find("u64 LEB128 overflows 64 bits"), std::string::npos) << over.error();
}

TEST(Leb128Test, SignedEdges) {
  struct S {
    std::string bytes;
    bool ok;
    std::int64_t value;
  };
  for (const S& c : std::vector<S>{
           {B({0x7f}), true, -1},
           {B({0x40}), true, -64},
           {B({0xc0, 0x00}), true, 64},
           {B({0x80, 0x7f}), true, -128},
           {B({0xff, 0xff, 0xff, 0xff, 0x07}), true, INT32_MAX},
           {B({0x80, 0x80, 0x80, 0x80, 0x78}), true, INT32_MIN},
           {B({0xff, 0xff, 0xff, 0xff, 0x7f}), true, -1},  // padded negative
           {B({0x80, 0x80, 0x80, 0x80, 0x08}), false, 0},  // sign bit without its extension
           {B({0xff, 0xff, 0xff, 0xff, 0x77}), false, 0},
           {B({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), false, 0},
           {B({0xff}), false, 0},
       }) {
    Reader r = At(c.bytes);
    const std::int32_t value = r.S32();
    EXPECT_EQ(r.ok(), c.ok) << ::testing::PrintToString(c.bytes) << " " << r.error();
    if (c.ok) {
      EXPECT_EQ(value, c.value);
    }
  }
  const std::string min_bytes = B({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f});
  Reader min = At(min_bytes);
  EXPECT_EQ(min.S64(), INT64_MIN);
  const std::string max_bytes = B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00});
  Reader max = At(max_bytes);
  EXPECT_EQ(max.S64(), INT64_MAX);
  const std::string over_bytes = B({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  Reader over = At(over_bytes);
  over.S64();
  EXPECT_FALSE(over.ok());
  const std::string eleven_bytes =
      B({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  Reader eleven = At(eleven_bytes);
  eleven.S64();
  EXPECT_NE(eleven.error().find("longer than 10 bytes"), std::string::npos) << eleven.error();
  const std::string heap_bytes = B({0x70, 0xff, 0xff, 0xff, 0xff, 0x0f});
  Reader heap = At(heap_bytes);  // -16 (func); 2^32 - 1
  EXPECT_EQ(heap.S33(), -16);
  EXPECT_EQ(heap.S33(), std::int64_t{UINT32_MAX});
}

TEST(Leb128Test, WritesMinimalEncodingsThatReadBack) {
  std::string out;
  WriteS32(out, 64);
  EXPECT_EQ(out, B({0xc0, 0x00}));
  out.clear();
  WriteS32(out, -64);
  EXPECT_EQ(out, B({0x40}));
  out.clear();
  WriteU32(out, 624485);
  EXPECT_EQ(out, B({0xe5, 0x8e, 0x26}));
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{63},
                         std::int64_t{-65}, std::int64_t{INT32_MIN}, std::int64_t{INT32_MAX},
                         INT64_MIN, INT64_MAX, std::int64_t{1} << 40}) {
    std::string s;
    WriteS64(s, v);
    Reader r = At(s);
    EXPECT_EQ(r.S64(), v);
    EXPECT_TRUE(r.ok() && r.AtEnd()) << v;
  }
  std::string u;
  WriteU64(u, UINT64_MAX);
  EXPECT_EQ(u.size(), 10u);
  EXPECT_EQ(At(u).U64(), UINT64_MAX);
}

TEST(Leb128Test, ErrorsNameTheOffsetAndContext) {
  const std::string bytes = B({0x00, 0x00, 0x00, 0x80, 0x80});
  Reader r(bytes, 3, bytes.size(), "import section");
  r.U32();
  EXPECT_EQ(r.error(), "offset 0x3 (import section): u32 LEB128 is truncated");
  r.Byte();  // a failed reader stays failed and keeps the first error
  EXPECT_EQ(r.error(), "offset 0x3 (import section): u32 LEB128 is truncated");
}

// ---- ParseLayout on hand-built modules ----

// One memory (1..4 pages), a mutable i32 and an immutable i64 global, an
// exported memory and `_initialize`, a start function, two active segments, a
// datacount section and a `name` section last.
std::string SmallModule() {
  return Mod({
      Sec(1, B({0x01, 0x60, 0x00, 0x00})),                             // type: () -> ()
      Sec(3, B({0x01, 0x00})),                                         // one function
      Sec(5, B({0x01, 0x01, 0x01, 0x04})),                             // memory 1..4
      Sec(6, B({0x02, 0x7f, 0x01, 0x41, 0x05, 0x0b,                    // mut i32 = 5
                0x7e, 0x00, 0x42, 0x7f, 0x0b})),                       // i64 = -1
      Sec(7, B({0x02, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,  //
                0x0b, '_',  'i', 'n', 'i', 't', 'i', 'a', 'l',  'i',  'z', 'e', 0x00, 0x00})),
      Sec(8, B({0x00})),                                            // start: function 0
      Sec(12, B({0x02})),                                           // datacount
      Sec(10, B({0x01, 0x02, 0x00, 0x0b})),                         // empty body
      Sec(11, B({0x02, 0x00, 0x41, 0x10, 0x0b, 0x02, 'h', 'i',      // "hi" at 16
                 0x02, 0x00, 0x41, 0x80, 0x02, 0x0b, 0x01, 'x'})),  // "x" at 256
      Custom("name", B({0x00, 0x01, 0x00})),
  });
}

TEST(ParseLayoutTest, ReadsEveryPartTheRewriterNeeds) {
  const std::string bytes = SmallModule();
  auto layout = ParseLayout(bytes);
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  EXPECT_EQ(layout->sections.size(), 10u);
  EXPECT_EQ(layout->sections.back().name, "name");
  EXPECT_EQ(layout->defined_functions, 1u);
  ASSERT_EQ(layout->memories.size(), 1u);
  EXPECT_EQ(layout->memories[0].limits.min, 1u);
  EXPECT_EQ(layout->memories[0].limits.max, 4u);
  ASSERT_EQ(layout->globals.size(), 2u);
  EXPECT_TRUE(layout->globals[0].is_mutable);
  EXPECT_EQ(layout->globals[0].const_bits, 5u);
  EXPECT_EQ(layout->globals[1].type, valtype::kI64);
  EXPECT_EQ(layout->globals[1].const_bits, UINT64_MAX);
  EXPECT_EQ(layout->globals[1].init.In(bytes), B({0x42, 0x7f, 0x0b}));
  ASSERT_EQ(layout->exports.size(), 2u);
  EXPECT_EQ(layout->exports[1].name, "_initialize");
  EXPECT_EQ(layout->exports[0].kind, ExternalKind::kMemory);
  EXPECT_EQ(layout->start, 0u);
  EXPECT_EQ(layout->data_count, 2u);
  ASSERT_EQ(layout->data.size(), 2u);
  EXPECT_EQ(layout->data[1].const_offset, 256u);
  EXPECT_EQ(layout->data[1].data.In(bytes), "x");
}

struct Hostile {
  std::string name;
  std::string bytes;
  std::string error;
};

TEST(ParseLayoutTest, RefusesMalformedModulesSayingWhereAndWhy) {
  const std::string header("\0asm\1\0\0\0", 8);
  for (const Hostile& c : std::vector<Hostile>{
           {"empty", "", "no \\0asm magic"},
           {"component", std::string("\0asm\x0d\0\1\0", 8), "version is not 1"},
           {"section past the end", header + B({0x01, 0x05, 0x00}),
            "offset 0x9: type section of 5 bytes, only 1 left"},
           {"truncated size", header + B({0x01, 0x80}), "offset 0x9: u32 LEB128 is truncated"},
           {"unknown id", header + B({0x0e, 0x00}), "offset 0x8: unknown section id 14"},
           {"out of order", Mod({Sec(6, B({0x00})), Sec(5, B({0x00}))}),
            "memory section after the global section"},
           {"repeated", Mod({Sec(5, B({0x00})), Sec(5, B({0x00}))}),
            "memory section after the memory section"},
           {"huge count", Mod({Sec(2, B({0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}))}),
            "offset 0xa (import section): 4294967295 imports cannot fit in the 1 bytes left"},
           {"name past the end", Mod({Sec(7, B({0x01, 0x7f, 'a', 'b'}))}),
            "(export section): name of 127 bytes, only 2 left"},
           {"trailing bytes", Mod({Sec(5, B({0x00, 0x00}))}), "content ends 1 bytes before"},
           {"overlong count", Mod({Sec(5, B({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}))}),
            "(memory section): u32 LEB128 is longer than 5 bytes"},
           {"bad limits", Mod({Sec(5, B({0x01, 0x10, 0x00}))}), "unknown limits flags 0x10"},
           {"bad opcode", Mod({Sec(6, B({0x01, 0x7f, 0x00, 0x20, 0x00, 0x0b}))}),
            "opcode 0x20 is not allowed in a constant expression"},
           {"unterminated expr", Mod({Sec(6, B({0x01, 0x7f, 0x00, 0x41, 0x00}))}),
            "(global section): unexpected end"},
           {"bad valtype", Mod({Sec(6, B({0x01, 0x55, 0x00, 0x0b}))}), "unknown value type 0x55"},
           {"bad export kind", Mod({Sec(7, B({0x01, 0x01, 'a', 0x09, 0x00}))}),
            "unknown export kind 9"},
           {"bad data flags", Mod({Sec(11, B({0x01, 0x03, 0x00}))}),
            "unknown data segment flags 3"},
           {"bodies without functions", Mod({Sec(10, B({0x01, 0x02, 0x00, 0x0b}))}),
            "declares 0 functions but the code section has 1 bodies"},
           {"datacount disagrees", Mod({Sec(12, B({0x01}))}), "datacount section says 1"},
           {"bad custom name", header + B({0x00, 0x02, 0x05, 'a'}),
            "(custom section): name of 5 bytes, only 1 left"},
       }) {
    auto layout = ParseLayout(c.bytes);
    ASSERT_FALSE(layout.ok()) << c.name;
    EXPECT_NE(layout.error().message.find(c.error), std::string::npos)
        << c.name << ": " << layout.error().message;
  }
}

// ---- Rewrite on hand-built modules ----

// The state a module starts with: pages = its minimum, memory = its active
// segments, globals = their constant inits.
struct InitialState {
  std::string memory;
  SnapshotState state;
};

InitialState StateAtStart(std::string_view bytes, const ModuleLayout& layout) {
  InitialState initial;
  const std::uint64_t pages = layout.memories.at(0).limits.min;
  initial.memory.assign(pages * kPageBytes, '\0');
  for (const DataSegment& segment : layout.data) {
    EXPECT_TRUE(segment.const_offset.has_value());
    EXPECT_LE(*segment.const_offset + segment.data.size, initial.memory.size());
    std::memcpy(initial.memory.data() + *segment.const_offset, bytes.data() + segment.data.offset,
                segment.data.size);
  }
  initial.state.memory_pages = pages;
  initial.state.memory = initial.memory;
  for (const Global& global : layout.globals) {
    if (!global.is_mutable) continue;
    EXPECT_TRUE(global.const_bits.has_value()) << "global " << global.index;
    initial.state.globals[global.index] = GlobalValue{global.type, global.const_bits.value_or(0)};
  }
  return initial;
}

// The sections of `after` that are not `except` equal those of `before`, in order.
void ExpectSectionsKept(std::string_view before, const ModuleLayout& before_layout,
                        std::string_view after, const ModuleLayout& after_layout,
                        std::initializer_list<SectionId> except) {
  const auto kept = [&](std::string_view bytes, const ModuleLayout& layout) {
    std::vector<std::string_view> out;
    for (const Section& s : layout.sections) {
      bool skip = false;
      for (SectionId id : except) skip = skip || s.id == static_cast<std::uint8_t>(id);
      if (!skip) out.push_back(s.whole.In(bytes));
    }
    return out;
  };
  EXPECT_TRUE(kept(before, before_layout) == kept(after, after_layout));
}

TEST(RewriteTest, SmallModuleSnapshot) {
  const std::string bytes = SmallModule();
  auto layout = ParseLayout(bytes);
  ASSERT_TRUE(layout.ok());
  std::string memory(2 * kPageBytes, '\0');
  memory.replace(100, 3, "abc");
  memory.replace(kPageBytes + 7, 2, "zz");
  SnapshotState state{
      .memory_pages = 2, .memory = memory, .globals = {{0, {valtype::kI32, 0xfffffff9}}}};
  auto out = Rewrite(bytes, *layout, state);
  ASSERT_TRUE(out.ok()) << out.error().message;
  auto after = ParseLayout(*out);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->memories[0].limits.min, 2u);
  EXPECT_EQ(after->memories[0].limits.max, 4u);
  EXPECT_EQ(after->globals[0].init.In(*out), B({0x41, 0x79, 0x0b}));  // i32.const -7
  EXPECT_EQ(after->globals[1].entry.In(*out), layout->globals[1].entry.In(bytes));
  ASSERT_EQ(after->exports.size(), 1u);
  EXPECT_EQ(after->exports[0].name, "memory");
  EXPECT_FALSE(after->start.has_value());
  ASSERT_EQ(after->data.size(), 2u);
  EXPECT_EQ(after->data_count, 2u);
  EXPECT_EQ(after->data[0].const_offset, 100u);
  EXPECT_EQ(after->data[0].data.In(*out), "abc");
  EXPECT_EQ(after->data[1].const_offset, kPageBytes + 7);
  EXPECT_EQ(after->sections.back().name, "name");
  ExpectSectionsKept(bytes, *layout, *out, *after,
                     {SectionId::kMemory, SectionId::kGlobal, SectionId::kExport, SectionId::kStart,
                      SectionId::kDataCount, SectionId::kData});
  EXPECT_TRUE(Module::Compile(SharedEngine(), *out).ok());
}

TEST(RewriteTest, AddsADataSectionBeforeTrailingCustomSections) {
  const std::string bytes =
      Mod({Sec(5, B({0x01, 0x00, 0x01})), Custom("name", ""), Custom("producers", "")});
  auto layout = ParseLayout(bytes);
  ASSERT_TRUE(layout.ok());
  std::string memory(kPageBytes, '\0');
  memory[5] = 1;
  auto out =
      Rewrite(bytes, *layout, SnapshotState{.memory_pages = 1, .memory = memory, .globals = {}});
  ASSERT_TRUE(out.ok()) << out.error().message;
  auto after = ParseLayout(*out);
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_EQ(after->sections.size(), 4u);
  EXPECT_EQ(after->sections[1].id, static_cast<std::uint8_t>(SectionId::kData));
  EXPECT_EQ(after->sections[2].name, "name");
  EXPECT_EQ(after->sections[3].name, "producers");
  EXPECT_TRUE(Module::Compile(SharedEngine(), *out).ok());
}

TEST(RewriteTest, RefusesWhatASnapshotCannotRepresent) {
  const std::string mem = Sec(5, B({0x01, 0x00, 0x01}));
  for (const Hostile& c : std::vector<Hostile>{
           {"no memory", Mod({}), "has 0 memories"},
           {"two memories", Mod({Sec(5, B({0x02, 0x00, 0x01, 0x00, 0x01}))}), "has 2 memories"},
           {"memory64", Mod({Sec(5, B({0x01, 0x04, 0x01}))}), "memory64"},
           {"shared", Mod({Sec(5, B({0x01, 0x03, 0x01, 0x02}))}), "shared"},
           {"imported memory", Mod({Sec(2, B({0x01, 0x01, 'a', 0x01, 'm', 0x02, 0x00, 0x01}))}),
            "imports 1 memories, 0 tables and 0 globals"},
           {"imported table",
            Mod({Sec(2, B({0x01, 0x01, 'a', 0x01, 't', 0x01, 0x70, 0x00, 0x01})), mem}),
            "imports 0 memories, 1 tables"},
           {"imported global",
            Mod({Sec(2, B({0x01, 0x01, 'a', 0x01, 'g', 0x03, 0x7f, 0x00})), mem}), "and 1 globals"},
           {"mutable reference", Mod({mem, Sec(6, B({0x01, 0x70, 0x01, 0xd0, 0x70, 0x0b}))}),
            "global 0 is a mutable reference"},
           {"passive data", Mod({mem, Sec(11, B({0x01, 0x01, 0x01, 'p'}))}),
            "data segment 0 is passive"},
       }) {
    auto layout = ParseLayout(c.bytes);
    ASSERT_TRUE(layout.ok()) << c.name << ": " << layout.error().message;
    const std::string memory(kPageBytes, '\0');
    auto out = Rewrite(c.bytes, *layout,
                       SnapshotState{.memory_pages = 1, .memory = memory, .globals = {}});
    ASSERT_FALSE(out.ok()) << c.name;
    EXPECT_NE(out.error().message.find(c.error), std::string::npos)
        << c.name << ": " << out.error().message;
  }
}

TEST(RewriteTest, RefusesAStateThatDoesNotFitTheModule) {
  const std::string bytes = SmallModule();
  auto layout = ParseLayout(bytes);
  ASSERT_TRUE(layout.ok());
  const std::string one(kPageBytes, '\0');
  const std::string five(5 * kPageBytes, '\0');
  const GlobalValue i32{valtype::kI32, 1};
  for (const auto& [state, error] : std::vector<std::pair<SnapshotState, std::string>>{
           {{0, "", {{0, i32}}}, "0 pages, below the module's minimum of 1"},
           {{5, five, {{0, i32}}}, "5 pages, above the module's maximum of 4"},
           {{2, one, {{0, i32}}}, "is 65536 bytes, not 2 pages"},
           {{1, one, {}}, "no value for mutable global 0"},
           {{1, one, {{0, {valtype::kI64, 1}}}}, "global 0 is i64, the global is i32"},
           {{1, one, {{0, i32}, {1, i32}}}, "2 global values for 1 mutable globals"},
       }) {
    auto out = Rewrite(bytes, *layout, state);
    ASSERT_FALSE(out.ok()) << error;
    EXPECT_NE(out.error().message.find(error), std::string::npos) << out.error().message;
  }
  EXPECT_FALSE(Rewrite(bytes + B({0x00, 0x00}), *layout, {}).ok());  // not this layout's bytes
}

TEST(SnapshotSegmentsTest, MergesSmallGapsAndCapsTheCount) {
  std::string memory(1000, '\0');
  EXPECT_TRUE(SnapshotSegments(memory).empty());
  for (std::size_t at : {10, 11, 23, 37, 100, 200, 220, 250, 999}) memory[at] = 1;
  // Gaps: 0, 11, 13, 62, 99, 19, 29, 748.
  const auto ranges = SnapshotSegments(memory);
  std::vector<std::pair<std::size_t, std::size_t>> got;
  for (const Range& r : ranges) got.emplace_back(r.offset, r.end());
  EXPECT_EQ(got,
            (std::vector<std::pair<std::size_t, std::size_t>>{
                {10, 24}, {37, 38}, {100, 101}, {200, 201}, {220, 221}, {250, 251}, {999, 1000}}));
  // Capped at 4: the three smallest gaps between those (13, 19, 29) go.
  const auto capped = SnapshotSegments(memory, {.max_gap = 12, .max_segments = 4});
  got.clear();
  for (const Range& r : capped) got.emplace_back(r.offset, r.end());
  EXPECT_EQ(got, (std::vector<std::pair<std::size_t, std::size_t>>{
                     {10, 38}, {100, 101}, {200, 251}, {999, 1000}}));
}

// ---- Instrument ----

TEST(InstrumentTest, OnlyAddsExports) {
  // A table, no exports at all: the export section is added after the global section.
  const std::string bytes =
      Mod({Sec(4, B({0x01, 0x70, 0x00, 0x02})), Sec(5, B({0x01, 0x00, 0x01})),
           Sec(6, B({0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b})), Custom("name", "")});
  auto layout = ParseLayout(bytes);
  ASSERT_TRUE(layout.ok());
  auto instrumented = Instrument(bytes, *layout);
  ASSERT_TRUE(instrumented.ok()) << instrumented.error().message;
  EXPECT_EQ(instrumented->memory, "__discoblocks_preinit_memory");
  EXPECT_EQ(instrumented->globals.at(0), "__discoblocks_preinit_global_0");
  EXPECT_EQ(instrumented->tables.at(0), "__discoblocks_preinit_table_0");
  auto after = ParseLayout(instrumented->bytes);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->sections[3].id, static_cast<std::uint8_t>(SectionId::kExport));
  EXPECT_EQ(after->exports.size(), 3u);
  ExpectSectionsKept(bytes, *layout, instrumented->bytes, *after, {SectionId::kExport});
  auto module = Module::Compile(SharedEngine(), instrumented->bytes);
  ASSERT_TRUE(module.ok()) << module.error().message;
  EXPECT_TRUE((*module)->Exports("__discoblocks_preinit_memory"));
  EXPECT_TRUE((*module)->Exports("__discoblocks_preinit_table_0"));

  // Instrumenting twice would clash, and says so.
  auto twice = Instrument(instrumented->bytes, *after);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("already exports \"__discoblocks_preinit_"),
            std::string::npos);
}

// ---- Against Wasmtime: a real initializer's state, and the bundled drivers ----

RunRequest Request() {
  RunRequest request;
  request.program_name = "test";
  request.export_name = "IsStorageClassValid";
  request.limits.time = std::chrono::milliseconds(2000);
  return request;
}

TEST(RewriteTest, SnapshotRunsWithTheInitializersStateAndWithoutIt) {
  const std::string bytes = ReadBytes(HostileDir() / "preinit_state.wasm");
  auto layout = ParseLayout(bytes);
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  auto original = Module::Compile(SharedEngine(), bytes);
  ASSERT_TRUE(original.ok());
  const RunResult expected = (*original)->Run(Request());
  ASSERT_EQ(expected.status, RunStatus::kOk) << expected.detail;
  ASSERT_EQ(expected.stdout_data, std::string("ready\n\0\0\0\0\0\0\0", 13));

  // What _initialize leaves (see preinit_state.wat), written out by hand.
  std::string memory(2 * kPageBytes, '\0');
  const std::uint32_t iovecs[4] = {65600, 6, 16, 7};
  std::memcpy(memory.data(), iovecs, sizeof iovecs);
  memory.replace(65600, 6, "ready\n");
  std::uint64_t ratio = 0;
  const double two_and_a_half = 2.5;
  std::memcpy(&ratio, &two_and_a_half, 8);
  SnapshotState state{.memory_pages = 2,
                      .memory = memory,
                      .globals = {{0, {valtype::kI32, 42}},
                                  {1, {valtype::kI64, std::uint64_t{1} << 40}},
                                  {2, {valtype::kF64, ratio}}}};
  auto snapshot = Rewrite(bytes, *layout, state);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  auto module = Module::Compile(SharedEngine(), *snapshot);
  ASSERT_TRUE(module.ok()) << module.error().message;
  EXPECT_EQ((*module)->info().initializer, InitializerKind::kNone);
  EXPECT_EQ((*module)->info().initial_memory_bytes, 2 * kPageBytes);
  const RunResult result = (*module)->Run(Request());
  EXPECT_EQ(result.status, RunStatus::kOk) << result.detail;
  EXPECT_EQ(result.stdout_data, expected.stdout_data);

  // A wrong global value is visible: the function traps.
  state.globals[1].bits = 7;
  auto wrong = Rewrite(bytes, *layout, state);
  ASSERT_TRUE(wrong.ok());
  auto wrong_module = Module::Compile(SharedEngine(), *wrong);
  ASSERT_TRUE(wrong_module.ok());
  EXPECT_EQ((*wrong_module)->Run(Request()).status, RunStatus::kTrap);
}

class BundledDriverTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BundledDriverTest, SurvivesInstrumentAndRewrite) {
  const std::string bytes = ReadBytes(DriversDir() / GetParam() / "main.wasm");
  auto layout = ParseLayout(bytes);
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  ASSERT_TRUE(CheckSnapshottable(*layout).ok()) << CheckSnapshottable(*layout).error().message;
  ASSERT_NE(layout->FindExport("_initialize"), nullptr);

  auto instrumented = Instrument(bytes, *layout);
  ASSERT_TRUE(instrumented.ok()) << instrumented.error().message;
  auto instrumented_layout = ParseLayout(instrumented->bytes);
  ASSERT_TRUE(instrumented_layout.ok()) << instrumented_layout.error().message;
  ExpectSectionsKept(bytes, *layout, instrumented->bytes, *instrumented_layout,
                     {SectionId::kExport});
  auto instrumented_module = Module::Compile(SharedEngine(), instrumented->bytes);
  ASSERT_TRUE(instrumented_module.ok()) << instrumented_module.error().message;
  EXPECT_TRUE((*instrumented_module)->Exports(instrumented->memory));
  EXPECT_FALSE(instrumented->globals.empty());
  for (const auto& [index, name] : instrumented->globals) {
    EXPECT_TRUE((*instrumented_module)->Exports(name)) << name;
  }

  const InitialState initial = StateAtStart(bytes, *layout);
  const auto started = std::chrono::steady_clock::now();
  auto snapshot = Rewrite(bytes, *layout, initial.state);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  auto after = ParseLayout(*snapshot);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_LE(after->data.size(), 10000u);
  EXPECT_EQ(after->data_count.has_value(), layout->data_count.has_value());
  if (after->data_count) {
    EXPECT_EQ(*after->data_count, after->data.size());
  }
  EXPECT_EQ(after->FindExport("_initialize"), nullptr);
  EXPECT_EQ(after->sections.back().name, layout->sections.back().name);
  ExpectSectionsKept(bytes, *layout, *snapshot, *after,
                     {SectionId::kMemory, SectionId::kGlobal, SectionId::kExport,
                      SectionId::kDataCount, SectionId::kData});
  // The new segments rebuild exactly the memory the module starts with.
  EXPECT_EQ(StateAtStart(*snapshot, *after).memory, initial.memory);
  std::printf("%s: %zu data segments -> %zu, rewrite %.1f ms, %zu -> %zu bytes\n",
              GetParam().c_str(), layout->data.size(), after->data.size(),
              std::chrono::duration<double, std::milli>(took).count(), bytes.size(),
              snapshot->size());
  auto module = Module::Compile(SharedEngine(), *snapshot);
  ASSERT_TRUE(module.ok()) << module.error().message;
}

INSTANTIATE_TEST_SUITE_P(Drivers, BundledDriverTest,
                         ::testing::Values("ebs.csi.aws.com", "csi.storageos.com",
                                           "rbd.csi.ceph.com", "topolvm.io",
                                           "pd.csi.storage.gke.io", "disk.csi.azure.com",
                                           "driver.longhorn.io"),
                         [](const auto& test_info) {
                           std::string name = test_info.param;
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
                           return name;
                         });

// A snapshot of the state the Go driver starts with, keeping `_initialize`,
// answers every call as the original does: the rebuilt data segments hold the
// whole image the Go runtime initializes from.
TEST(RewriteTest, GoDriverSnapshotAnswersAsTheOriginal) {
  using drivers::Driver;
  using drivers::Function;
  const std::string provisioner = "ebs.csi.aws.com";
  const std::string bytes = ReadBytes(DriversDir() / provisioner / "main.wasm");
  auto layout = ParseLayout(bytes);
  ASSERT_TRUE(layout.ok());
  const InitialState initial = StateAtStart(bytes, *layout);
  auto snapshot = Rewrite(bytes, *layout, initial.state,
                          RewriteOptions{.segments = {}, .keep_initialize = true});
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  testing::TempDir dir;
  dir.AddDriver(provisioner, *snapshot);
  auto rewritten = Driver::Load(SharedEngine(), provisioner, dir.path() / provisioner);
  ASSERT_TRUE(rewritten.ok()) << rewritten.error().message;
  auto original = Driver::Load(SharedEngine(), provisioner, DriversDir() / provisioner);
  ASSERT_TRUE(original.ok()) << original.error().message;

  const drivers::ConformanceInputs in = drivers::BuiltInInputs(provisioner);
  drivers::CallInputs inputs;
  inputs.storage_class = in.storage_class;
  inputs.node = in.node;
  inputs.persistent_volume = in.persistent_volume;
  inputs.volume_attachment = in.volume_attachment;
  inputs.pvc_name = in.pvc_name;
  inputs.pvc_namespace = in.pvc_namespace;
  inputs.storage_class_name = in.storage_class_name;
  for (Function function : {Function::kIsStorageClassValid, Function::kGetPVCStub,
                            Function::kGetCSIDriverPodLabels, Function::kGetPreMountCommand}) {
    const drivers::Outcome want = (*original)->Call(function, inputs);
    const drivers::Outcome got = (*rewritten)->Call(function, inputs);
    ASSERT_TRUE(want.ok()) << want.reason;
    EXPECT_EQ(got.kind, want.kind) << got.reason;
    EXPECT_EQ(got.result, want.result);
    EXPECT_EQ(got.stdout_data, want.stdout_data);
    EXPECT_EQ(got.stderr_data, want.stderr_data);
  }
}

}  // namespace
}  // namespace discoblocks::wasm::binary
