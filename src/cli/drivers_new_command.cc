// discoblocks drivers new PROVISIONER --lang go|cpp: writes a skeleton driver
// from the embedded templates (sdk/templates) that builds as generated and
// passes `drivers test`.
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/driver_templates.h"
#include "util/files.h"

#ifndef DISCOBLOCKS_SOURCE_SDK_DIR
#define DISCOBLOCKS_SOURCE_SDK_DIR ""
#endif

namespace discoblocks::cli {
namespace {

namespace fs = std::filesystem;

struct NewFlags {
  std::string provisioner;
  std::string lang;
  std::optional<std::string> output;
  std::optional<std::string> sdk;
};

// The CSI spec's rule for driver names: at most 63 characters, alphanumerics at
// both ends, dashes, dots and alphanumerics between. It also keeps the name
// safe to put into file names, Go module paths and shell commands.
bool IsCsiDriverName(std::string_view name) {
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > 63 || !alnum(name.front()) || !alnum(name.back())) {
    return false;
  }
  for (const char c : name) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

// Where the SDK is, in order: the flag; $DISCOBLOCKS_SDK_DIR; an installed copy
// next to the binary (<prefix>/share/discoblocks/sdk for <prefix>/bin/discoblocks);
// the source tree the binary was built from. The generated build points at it, so
// the driver builds against the SDK of the host that will run it.
Result<fs::path> FindSdk(const std::optional<std::string>& flag, std::string_view lang) {
  const fs::path marker =
      lang == "go" ? fs::path("go/go.mod") : fs::path("cpp/include/discoblocks/driver.h");
  std::vector<std::pair<fs::path, std::string>> candidates;
  if (flag) {
    candidates.emplace_back(*flag, "--sdk");
  } else {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts.
    if (const char* env = std::getenv("DISCOBLOCKS_SDK_DIR"); env != nullptr && *env != 0) {
      candidates.emplace_back(env, "$DISCOBLOCKS_SDK_DIR");
    }
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.emplace_back(exe.parent_path().parent_path() / "share" / "discoblocks" / "sdk",
                              "the installed copy");
    }
    if (std::string_view(DISCOBLOCKS_SOURCE_SDK_DIR).size() > 0) {
      candidates.emplace_back(DISCOBLOCKS_SOURCE_SDK_DIR, "the source tree of this binary");
    }
  }
  std::string tried;
  for (const auto& [dir, what] : candidates) {
    std::error_code ec;
    if (fs::exists(dir / marker, ec)) return fs::absolute(dir).lexically_normal();
    tried += fmt::format("{}{} ({})", tried.empty() ? "" : ", ", dir.string(), what);
  }
  if (flag) return MakeError(fmt::format("--sdk {}: no {} in it", *flag, marker.string()));
  return MakeError(
      fmt::format("no driver SDK found (looked for {} in {}); pass --sdk DIR, the "
                  "sdk/ folder of the Discoblocks sources",
                  marker.string(), tried.empty() ? "nothing" : tried));
}

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The SDK module's requirements, as indirect requirements of the driver's go.mod
// (whose go.sum is the SDK's): so that the driver builds offline as generated.
Result<std::string> GoRequires(const fs::path& sdk) {
  auto text = ReadFile(sdk / "go" / "go.mod");
  if (!text) return text.error();
  std::string needs;
  bool in_block = false;
  std::size_t start = 0;
  while (start < text->size()) {
    auto end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(start, end - start);
    start = end + 1;
    if (const auto comment = line.find("//"); comment != std::string::npos) line.resize(comment);
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (in_block) {
      if (line == ")") {
        in_block = false;
      } else if (!line.empty()) {
        needs += "\t" + line + " // indirect\n";
      }
    } else if (line == "require (") {
      in_block = true;
    } else if (line.rfind("require ", 0) == 0) {
      needs += "\t" + line.substr(8) + " // indirect\n";
    }
  }
  return needs;
}

Status WriteText(const fs::path& path, std::string_view text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return MakeError(fmt::format("{}: {}", path.parent_path().string(), ec.message()));
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return MakeError(path.string() + ": cannot write");
  return {};
}

int New(const NewFlags& flags) {
  if (!IsCsiDriverName(flags.provisioner)) {
    return Fail(fmt::format(
        "{}: not a CSI driver name (at most 63 characters: letters, digits, '-' and '.', "
        "a letter or digit at both ends)",
        flags.provisioner));
  }
  const fs::path out = fs::absolute(flags.output.value_or(flags.provisioner)).lexically_normal();
  std::error_code ec;
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return Fail(fmt::format("{} exists and is not an empty directory; refusing to overwrite it",
                            out.string()));
  }
  auto sdk = FindSdk(flags.sdk, flags.lang);
  if (!sdk) return Fail(sdk.error().message);

  std::string lower = flags.provisioner;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::pair<std::string_view, std::string>> values{
      {"{{PROVISIONER}}", flags.provisioner},
      {"{{APP_LABEL}}", lower},
      {"{{SDK_DIR}}", sdk->string()},
      {"{{GO_MODULE}}", lower + "/driver"},
  };
  if (flags.lang == "go") {
    auto needs = GoRequires(*sdk);
    if (!needs) return Fail(needs.error().message);
    values.emplace_back("{{SDK_REQUIRES}}", *needs);
  }

  const std::string prefix = flags.lang + "/";
  std::vector<std::string> written;
  for (const EmbeddedFile& file : DriverTemplates()) {
    if (file.path.rfind(prefix, 0) != 0) continue;
    std::string relative(file.path.substr(prefix.size()));
    if (relative.size() > 5 && relative.ends_with(".tmpl")) relative.resize(relative.size() - 5);
    // A dot file would be skipped by globs over the templates; named without the dot there.
    if (relative == "gitignore") relative = ".gitignore";
    std::string text(file.content);
    for (const auto& [placeholder, value] : values) text = ReplaceAll(text, placeholder, value);
    if (auto status = WriteText(out / relative, text); !status) return Fail(status.error().message);
    written.push_back(relative);
  }
  if (written.empty()) return Fail("no templates for --lang " + flags.lang + " in this binary");
  if (flags.lang == "go") {
    // The driver's build list is the SDK's plus the SDK itself (replaced, so unhashed).
    auto sum = ReadFile(*sdk / "go" / "go.sum");
    if (!sum) return Fail(sum.error().message);
    if (auto status = WriteText(out / "go.sum", *sum); !status) return Fail(status.error().message);
    written.emplace_back("go.sum");
  }
  std::cout << fmt::format("wrote a {} driver for {} in {} (SDK: {}):\n",
                           flags.lang == "go" ? "Go" : "C++", flags.provisioner, out.string(),
                           sdk->string());
  for (const std::string& file : written) std::cout << "  " << file << "\n";
  std::cout << fmt::format("next: cd {} && make && make test && make check (see README.md)\n",
                           out.string());
  return kExitOk;
}

}  // namespace

void AddDriversNewCommand(CLI::App& group, Action& action) {
  auto flags = std::make_shared<NewFlags>();
  auto* command = group.add_subcommand(
      "new",
      "write a skeleton driver (every contract function, a build file, a test, fixtures, "
      "a README) that builds and passes `drivers test` as generated");
  command->add_option("PROVISIONER", flags->provisioner, "the CSI driver's name")->required();
  command->add_option("--lang", flags->lang, "go or cpp")
      ->required()
      ->check(CLI::IsMember({"go", "cpp"}));
  command->add_option("--output", flags->output, "directory to create (default: ./PROVISIONER)");
  command->add_option("--sdk", flags->sdk,
                      "the sdk/ folder of the Discoblocks sources (default: $DISCOBLOCKS_SDK_DIR, "
                      "else <prefix>/share/discoblocks/sdk, else the sources this binary was "
                      "built from)");
  command->callback([&action, flags] { action = [flags] { return New(*flags); }; });
}

}  // namespace discoblocks::cli
