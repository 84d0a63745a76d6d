#include "wasm/wasm_leb.h"

#include <fmt/format.h>

#include "wasm/wasm_binary.h"

namespace discoblocks::wasm::binary {

// ---- Reader ----

Reader::Reader(std::string_view bytes, std::size_t offset, std::size_t end, std::string context)
    : bytes_(bytes), offset_(offset), end_(end), context_(std::move(context)) {
  if (end_ > bytes_.size() || offset_ > end_) {
    offset_ = end_ = 0;
    Fail("range outside the module");
  }
}

void Reader::FailAt(std::size_t offset, std::string_view what) {
  if (failed_) return;
  failed_ = true;
  error_ = context_.empty() ? fmt::format("offset 0x{:x}: {}", offset, what)
                            : fmt::format("offset 0x{:x} ({}): {}", offset, context_, what);
}

void Reader::Fail(std::string_view what) { FailAt(offset_, what); }

std::uint8_t Reader::Byte() {
  if (failed_) return 0;
  if (offset_ >= end_) {
    Fail("unexpected end (truncated)");
    return 0;
  }
  return static_cast<std::uint8_t>(bytes_[offset_++]);
}

// LEB128 as the spec defines it: at most ceil(bits / 7) bytes; in the last
// byte allowed, the bits beyond `bits` must be zero (unsigned) or copies of the
// sign bit (signed). Padding within the byte limit (0x80 0x00 for 0) is valid,
// and LLVM emits it, so it is accepted.
std::uint64_t Reader::Leb(unsigned bits, bool is_signed, std::string_view what) {
  if (failed_) return 0;
  const std::size_t start = offset_;
  const unsigned max_bytes = (bits + 6) / 7;
  std::uint64_t result = 0;
  unsigned shift = 0;
  for (unsigned i = 0;; ++i) {
    if (offset_ >= end_) {
      FailAt(start, fmt::format("{} LEB128 is truncated", what));
      return 0;
    }
    const auto byte = static_cast<std::uint8_t>(bytes_[offset_++]);
    if (i + 1 == max_bytes) {
      if ((byte & 0x80) != 0) {
        FailAt(start, fmt::format("{} LEB128 is longer than {} bytes", what, max_bytes));
        return 0;
      }
      const unsigned used = bits - 7 * i;  // value bits in this last byte
      if (is_signed) {
        const auto mask = static_cast<std::uint8_t>(0x7f & ~((1u << (used - 1)) - 1));
        if ((byte & mask) != 0 && (byte & mask) != mask) {
          FailAt(start, fmt::format("{} LEB128 overflows {} bits", what, bits));
          return 0;
        }
      } else if ((byte & 0x7f) >> used != 0) {
        FailAt(start, fmt::format("{} LEB128 overflows {} bits", what, bits));
        return 0;
      }
    }
    result |= std::uint64_t{byte & 0x7fu} << shift;
    shift += 7;
    if ((byte & 0x80) == 0) {
      if (is_signed && shift < 64 && (byte & 0x40) != 0) result |= ~std::uint64_t{0} << shift;
      return result;
    }
  }
}

std::uint32_t Reader::U32() { return static_cast<std::uint32_t>(Leb(32, false, "u32")); }
std::uint64_t Reader::U64() { return Leb(64, false, "u64"); }
std::int32_t Reader::S32() { return static_cast<std::int32_t>(Leb(32, true, "s32")); }
std::int64_t Reader::S33() { return static_cast<std::int64_t>(Leb(33, true, "s33")); }
std::int64_t Reader::S64() { return static_cast<std::int64_t>(Leb(64, true, "s64")); }

int Reader::Peek() const {
  return failed_ || offset_ >= end_ ? -1 : static_cast<std::uint8_t>(bytes_[offset_]);
}

std::string_view Reader::Bytes(std::size_t count) {
  if (failed_) return {};
  if (count > end_ - offset_) {
    Fail(fmt::format("{} bytes wanted, only {} left", count, end_ - offset_));
    return {};
  }
  const std::string_view out = bytes_.substr(offset_, count);
  offset_ += count;
  return out;
}

std::string_view Reader::Name() {
  const std::size_t start = offset_;
  const std::uint32_t length = U32();
  if (ok() && length > remaining()) {
    FailAt(start, fmt::format("name of {} bytes, only {} left", length, remaining()));
    return {};
  }
  return Bytes(length);
}

std::uint32_t Reader::Count(std::string_view what, std::size_t min_item_bytes) {
  const std::size_t start = offset_;
  const std::uint32_t count = U32();
  if (ok() && count > remaining() / min_item_bytes) {
    FailAt(start, fmt::format("{} {} cannot fit in the {} bytes left", count, what, remaining()));
    return 0;
  }
  return count;
}

// ---- Writer ----

void WriteU64(std::string& out, std::uint64_t value) {
  do {
    auto byte = static_cast<std::uint8_t>(value & 0x7f);
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (value != 0);
}

void WriteU32(std::string& out, std::uint32_t value) { WriteU64(out, value); }

void WriteS64(std::string& out, std::int64_t value) {
  for (;;) {
    auto byte = static_cast<std::uint8_t>(value & 0x7f);
    value >>= 7;  // arithmetic: C++20 defines it for negative values
    const bool done = (value == 0 && (byte & 0x40) == 0) || (value == -1 && (byte & 0x40) != 0);
    if (!done) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
    if (done) return;
  }
}

void WriteS32(std::string& out, std::int32_t value) { WriteS64(out, value); }

void WriteName(std::string& out, std::string_view name) {
  WriteU32(out, static_cast<std::uint32_t>(name.size()));
  out.append(name);
}

void WriteSection(std::string& out, SectionId id, std::string_view content) {
  out.push_back(static_cast<char>(id));
  WriteU32(out, static_cast<std::uint32_t>(content.size()));
  out.append(content);
}

}  // namespace discoblocks::wasm::binary
