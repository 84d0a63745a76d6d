// The skeleton drivers of `discoblocks drivers new`: the files of sdk/templates,
// embedded at build time (cmake/embed_templates.cmake). Internal to src/cli/.
#pragma once

#include <string_view>
#include <vector>

namespace discoblocks::cli {

struct EmbeddedFile {
  std::string_view path;  // relative to sdk/templates, e.g. "go/main.go.tmpl"
  std::string_view content;
};

// Sorted by path.
const std::vector<EmbeddedFile>& DriverTemplates();

}  // namespace discoblocks::cli
