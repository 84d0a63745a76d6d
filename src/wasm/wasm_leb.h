// LEB128 and the other primitives of the WebAssembly binary format, for
// wasm_binary.h: a bounds-checked reader that keeps its first error, and
// writers of minimal encodings. Pure C++, no Wasmtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace discoblocks::wasm::binary {

enum class SectionId : std::uint8_t;  // wasm_binary.h

// A bounds-checked cursor over [offset, end) of `bytes`. The first failure is
// kept (with its offset and context) and every later read then fails too and
// returns 0 or empty, so a parse loop needs to check ok() once per iteration,
// not after every read. `bytes` must outlive the Reader.
class Reader {
 public:
  Reader(std::string_view bytes, std::size_t offset, std::size_t end, std::string context);
  // A temporary string would be gone before the first read.
  Reader(std::string&& bytes, std::size_t offset, std::size_t end, std::string context) = delete;

  std::uint8_t Byte();
  [[nodiscard]] int Peek() const;  // the next byte without consuming it; -1 at the end
  std::uint32_t U32();             // unsigned LEB128, at most 5 bytes
  std::uint64_t U64();             // unsigned LEB128, at most 10 bytes
  std::int32_t S32();              // signed LEB128, at most 5 bytes
  std::int64_t S33();  // signed LEB128 of 33 bits, at most 5 bytes (heap and block types)
  std::int64_t S64();  // signed LEB128, at most 10 bytes
  std::string_view Bytes(std::size_t count);
  std::string_view Name();  // a u32 length and that many bytes (UTF-8 not checked)
  // A count of items each at least `min_item_bytes` long: more than the bytes
  // left could hold fails here, before anything is sized by it.
  std::uint32_t Count(std::string_view what, std::size_t min_item_bytes = 1);

  // Records `what` as the failure at the current offset (if none yet).
  void Fail(std::string_view what);
  void FailAt(std::size_t offset, std::string_view what);

  [[nodiscard]] bool ok() const { return !failed_; }
  [[nodiscard]] bool AtEnd() const { return offset_ == end_; }
  [[nodiscard]] std::size_t offset() const { return offset_; }
  [[nodiscard]] std::size_t remaining() const { return end_ - offset_; }
  // The recorded failure: "offset 0x1a (section import): u32 LEB128 is truncated".
  [[nodiscard]] const std::string& error() const { return error_; }
  void set_context(std::string context) { context_ = std::move(context); }

 private:
  std::uint64_t Leb(unsigned bits, bool is_signed, std::string_view what);

  std::string_view bytes_;
  std::size_t offset_;
  std::size_t end_;
  std::string context_;
  bool failed_ = false;
  std::string error_;
};

// Appends LEB128 encodings (minimal length) to `out`.
void WriteU32(std::string& out, std::uint32_t value);
void WriteU64(std::string& out, std::uint64_t value);
void WriteS32(std::string& out, std::int32_t value);
void WriteS64(std::string& out, std::int64_t value);
void WriteName(std::string& out, std::string_view name);
// Appends a section: its id, its content's size and the content.
void WriteSection(std::string& out, SectionId id, std::string_view content);

}  // namespace discoblocks::wasm::binary
