// Shared by the fuzz targets: how a target says that a property it checks
// does not hold. A crash is what libFuzzer (and the corpus replay) reports, so
// a broken property aborts with a message naming it and the input's size.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace discoblocks::fuzz {

[[noreturn]] inline void Fail(std::string_view property, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz property broken: %.*s%s%.*s\n", static_cast<int>(property.size()),
               property.data(), detail.empty() ? "" : ": ", static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

inline void Require(bool holds, std::string_view property, std::string_view detail = {}) {
  if (!holds) Fail(property, detail);
}

inline std::string_view AsText(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace discoblocks::fuzz
