#include "drivers/module_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "util/sha256.h"

namespace discoblocks::drivers {
namespace {

constexpr std::string_view kMagic = "DISCOBLOCKS-MODULE-CACHE v1";
// Far above any real driver (a few MiB of wasm compile to tens of MiB at most),
// low enough that a stray huge file cannot exhaust memory.
constexpr std::size_t kMaxEntryBytes = std::size_t{512} << 20;
constexpr std::string_view kEntrySuffix = ".cwasm";
constexpr std::string_view kTempSuffix = ".tmp";
// A temporary file this old belongs to a write that will never finish.
constexpr std::time_t kStaleTempSeconds = 3600;

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Entries of snapshots carry a magic line of their own and one more field, so
// that neither kind can be taken for the other, and plain entries keep the
// format they had before snapshots existed.
constexpr std::string_view kSnapshotMagic = "DISCOBLOCKS-MODULE-CACHE preinit-v1";
constexpr std::string_view kSnapshotNameTag = "\npreinit-v1";

std::string EntryName(std::string_view wasm_sha256, const std::string& fingerprint, bool snapshot) {
  return Sha256Hex(std::string(wasm_sha256) + "\n" + fingerprint +
                   std::string(snapshot ? kSnapshotNameTag : "")) +
         std::string(kEntrySuffix);
}

}  // namespace

struct ModuleCache::EntryIdentity {
  std::string_view wasm_sha256;
  std::string fingerprint;
  bool snapshot = false;
  // A snapshot's: written to its header, and read back from it on a hit.
  wasm::ModuleExtras extras;
};

namespace {

std::string Header(const ModuleCache::EntryIdentity& identity, std::string_view payload) {
  const std::string clock =
      identity.snapshot ? fmt::format("monotonic-base-ns {}\n", identity.extras.monotonic_base_ns)
                        : std::string();
  return fmt::format("{}\nwasm-sha256 {}\nengine {}\n{}payload-length {}\npayload-sha256 {}\n\n",
                     identity.snapshot ? kSnapshotMagic : kMagic, identity.wasm_sha256,
                     identity.fingerprint, clock, payload.size(), Sha256Hex(payload));
}

template <typename T>
bool ParseNumber(std::string_view text, T& value) {
  return !text.empty() &&
         std::from_chars(text.data(), text.data() + text.size(), value).ec == std::errc() &&
         std::to_string(value) == text;
}

// Checks an entry against the module and engine asked for. Returns why it cannot
// be used, or nullopt with `payload` set to the serialized module (and, for a
// snapshot, identity.extras to its header's).
std::optional<std::string> Verify(std::string_view entry, ModuleCache::EntryIdentity& identity,
                                  std::string_view* payload) {
  auto next_line = [&entry]() -> std::optional<std::string_view> {
    const auto end = entry.find('\n');
    if (end > 4096) return std::nullopt;  // also when there is none (npos)
    const std::string_view line = entry.substr(0, end);
    entry.remove_prefix(end + 1);
    return line;
  };
  auto field = [&next_line](std::string_view key) -> std::optional<std::string_view> {
    auto line = next_line();
    if (!line || !line->starts_with(key) || !line->substr(key.size()).starts_with(' ')) return {};
    return line->substr(key.size() + 1);
  };
  if (next_line() != (identity.snapshot ? kSnapshotMagic : kMagic)) {
    return "corrupt: not a module cache entry of this kind (bad magic line)";
  }
  const auto wasm = field("wasm-sha256");
  const auto engine = field("engine");
  const std::optional<std::string_view> clock =
      identity.snapshot ? field("monotonic-base-ns") : std::optional<std::string_view>("0");
  const auto length_text = field("payload-length");
  const auto payload_sha256 = field("payload-sha256");
  const auto blank = next_line();
  std::size_t length = 0;
  std::int64_t monotonic_base_ns = 0;
  if (!wasm || !engine || !clock || !length_text || !payload_sha256 || blank != "" ||
      !ParseNumber(*length_text, length) || !ParseNumber(*clock, monotonic_base_ns) ||
      monotonic_base_ns < 0) {
    return "corrupt: malformed header";
  }
  if (*wasm != identity.wasm_sha256) {
    return fmt::format("corrupt: the entry is for module {}", *wasm);
  }
  if (*engine != identity.fingerprint) {
    return fmt::format("different engine settings (entry: {}; engine: {})", *engine,
                       identity.fingerprint);
  }
  if (entry.size() != length) {
    return fmt::format("corrupt: payload is {} bytes, the header says {}", entry.size(), length);
  }
  if (Sha256Hex(entry) != *payload_sha256) return "corrupt: payload does not match its sha256";
  *payload = entry;
  identity.extras = {.monotonic_base_ns = monotonic_base_ns, .preinitialized = identity.snapshot};
  return std::nullopt;
}

struct ReadOutcome {
  bool absent = false;
  std::string bytes;
  std::string problem;  // set when present but unreadable
};

ReadOutcome ReadEntry(int dir_fd, const std::string& name) {
  ReadOutcome outcome;
  // O_NONBLOCK: a FIFO planted under the name must not hang the load.
  Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      outcome.absent = true;
    } else {
      outcome.problem = errno == ELOOP ? "not a regular file (a symbolic link)"
                                       : "unreadable: " + ErrnoText(errno);
    }
    return outcome;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    outcome.problem = "unreadable: " + ErrnoText(errno);
  } else if (!S_ISREG(st.st_mode)) {
    outcome.problem = "not a regular file";
  } else if (static_cast<std::uint64_t>(st.st_size) > kMaxEntryBytes) {
    outcome.problem = fmt::format("unreadable: larger than the {} byte limit", kMaxEntryBytes);
  } else {
    outcome.bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < outcome.bytes.size()) {
      const ssize_t n = ::read(fd.get(), outcome.bytes.data() + done, outcome.bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        outcome.problem = "unreadable: " + ErrnoText(errno);
        break;
      }
      if (n == 0) break;  // shrank meanwhile; the length check in Verify reports it
      done += static_cast<std::size_t>(n);
    }
    outcome.bytes.resize(done);
  }
  return outcome;
}

// Why `st` is not a directory this process may trust with machine code, if not.
std::optional<std::string> DirectoryProblem(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return "is a symbolic link; give the real directory";
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  if (st.st_uid != ::geteuid()) {
    return fmt::format("owned by uid {}, not by this process's uid {}", st.st_uid, ::geteuid());
  }
  if ((st.st_mode & 077) != 0) {
    return fmt::format("mode {:04o} gives group or others access; it must be 0700",
                       st.st_mode & 07777);
  }
  return std::nullopt;
}

// Creates `dir` and its missing parents with mode 0700 (whatever the umask).
Status CreatePrivate(const std::filesystem::path& dir) {
  std::filesystem::path prefix;
  for (const auto& part : dir) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), 0700) == 0) {
      if (::chmod(prefix.c_str(), 0700) != 0) {
        return MakeError(
            fmt::format("cannot set mode 0700 on {}: {}", prefix.string(), ErrnoText(errno)));
      }
    } else if (errno != EEXIST) {
      return MakeError(fmt::format("cannot create {}: {}", prefix.string(), ErrnoText(errno)));
    }
  }
  return {};
}

}  // namespace

std::string_view CacheResultName(CacheResult result) {
  switch (result) {
    case CacheResult::kHit:
      return "hit";
    case CacheResult::kMiss:
      return "miss";
    case CacheResult::kRebuilt:
      return "rebuilt";
  }
  return "unknown";
}

ModuleCache::ModuleCache(std::filesystem::path dir, int dir_fd, ModuleCacheOptions options)
    : dir_(std::move(dir)), options_(options), dir_fd_(dir_fd) {}

ModuleCache::~ModuleCache() { ::close(dir_fd_); }

Result<std::unique_ptr<ModuleCache>> ModuleCache::Open(std::filesystem::path dir,
                                                       const ModuleCacheOptions& options) {
  if (dir.empty()) return MakeError("module cache: no directory given");
  dir = dir.lexically_normal();
  // "dir/" would make lstat follow a symbolic link; look at the name itself.
  if (!dir.has_filename() && dir.has_relative_path()) dir = dir.parent_path();
  auto refused = [&dir](const std::string& why) {
    return MakeError(fmt::format("module cache {}: refused: {}", dir.string(), why));
  };

  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return refused(ErrnoText(errno));
    if (auto created = CreatePrivate(dir); !created) return refused(created.error().message);
    if (::lstat(dir.c_str(), &st) != 0) return refused(ErrnoText(errno));
  }
  if (auto problem = DirectoryProblem(st)) return refused(*problem);
  // Check again what was actually opened: the path could have changed in between.
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return refused(ErrnoText(errno));
  if (::fstat(fd.get(), &st) != 0) return refused(ErrnoText(errno));
  if (auto problem = DirectoryProblem(st)) return refused(*problem);
  auto cache = std::unique_ptr<ModuleCache>(new ModuleCache(std::move(dir), fd.Release(), options));
  cache->Evict();  // the limit may be lower than when the entries were written
  return cache;
}

void ModuleCache::MarkUsed(const std::string& entry_name) {
  const std::lock_guard lock(usage_mutex_);
  last_used_[entry_name] = ++use_counter_;
}

void ModuleCache::Evict() {
  const std::lock_guard lock(usage_mutex_);
  // A stream of its own over the directory Open checked (not its path).
  const int list_fd = ::openat(dir_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* listing = list_fd >= 0 ? ::fdopendir(list_fd) : nullptr;
  if (listing == nullptr) {
    const int error = errno;
    if (list_fd >= 0) ::close(list_fd);
    spdlog::warn("module cache {}: cannot list entries to keep within {} bytes: {}", dir_.string(),
                 options_.max_bytes, ErrnoText(error));
    return;
  }
  struct Entry {
    std::string name;
    std::uint64_t size = 0;
    std::optional<std::uint64_t> used;  // by this process, on use_counter_
    struct timespec modified {};
  };
  std::vector<Entry> entries;
  std::uint64_t total = 0;
  const std::time_t now = std::time(nullptr);
  // readdir is safe here: this stream is used by this thread alone.
  while (const dirent* item = ::readdir(listing)) {  // NOLINT(concurrency-mt-unsafe)
    const std::string_view name = item->d_name;
    struct stat st {};
    if (::fstatat(dir_fd_, item->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    if (name.starts_with('.') && name.ends_with(kTempSuffix)) {
      if (st.st_mtim.tv_sec + kStaleTempSeconds < now) ::unlinkat(dir_fd_, item->d_name, 0);
      continue;
    }
    if (name.starts_with('.') || !name.ends_with(kEntrySuffix)) continue;
    Entry entry{std::string(name), static_cast<std::uint64_t>(st.st_size), std::nullopt,
                st.st_mtim};
    if (const auto it = last_used_.find(entry.name); it != last_used_.end())
      entry.used = it->second;
    total += entry.size;
    entries.push_back(std::move(entry));
  }
  ::closedir(listing);
  if (total > options_.max_bytes) {
    // Least recently used first: entries this process has not used, oldest
    // first, then the ones it has, in the order it last used them.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      if (a.used.has_value() != b.used.has_value()) return !a.used.has_value();
      if (a.used) return *a.used < *b.used;
      if (a.modified.tv_sec != b.modified.tv_sec) return a.modified.tv_sec < b.modified.tv_sec;
      if (a.modified.tv_nsec != b.modified.tv_nsec) return a.modified.tv_nsec < b.modified.tv_nsec;
      return a.name < b.name;
    });
    for (const Entry& entry : entries) {
      if (total <= options_.max_bytes) break;
      if (::unlinkat(dir_fd_, entry.name.c_str(), 0) != 0 && errno != ENOENT) {
        spdlog::warn("module cache: cannot remove {}: {}", (dir_ / entry.name).string(),
                     ErrnoText(errno));
        continue;
      }
      total -= entry.size;
      last_used_.erase(entry.name);
      ++evictions_;
      spdlog::info(
          "module cache: removed {} ({} bytes, least recently used) to stay within {} bytes",
          (dir_ / entry.name).string(), entry.size, options_.max_bytes);
    }
  }
  stored_bytes_ = total;
}

std::filesystem::path ModuleCache::EntryPath(const wasm::Engine& engine,
                                             std::string_view wasm_sha256_hex) const {
  return dir_ / EntryName(wasm_sha256_hex, engine.Fingerprint(), false);
}

std::filesystem::path ModuleCache::SnapshotEntryPath(const wasm::Engine& engine,
                                                     std::string_view wasm_sha256_hex) const {
  return dir_ / EntryName(wasm_sha256_hex, engine.Fingerprint(), true);
}

std::shared_ptr<std::mutex> ModuleCache::LockFor(const std::string& entry_name) {
  const std::lock_guard lock(locks_mutex_);
  auto& slot = locks_[entry_name];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

Status ModuleCache::WriteEntry(const std::string& entry_name, const std::string& contents) {
  // A unique temporary name in the same directory, then rename: readers (also in
  // other processes) see the old entry or the whole new one, never part of one.
  std::string temp;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 8 && raw_fd < 0; ++attempt) {
    temp =
        fmt::format(".{}.{}.{}{}", entry_name, ::getpid(), temp_counter_.fetch_add(1), kTempSuffix);
    raw_fd =
        ::openat(dir_fd_, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (raw_fd < 0 && errno != EEXIST) break;
  }
  if (raw_fd < 0) {
    return MakeError(fmt::format("cannot create {}: {}", (dir_ / temp).string(), ErrnoText(errno)));
  }
  Fd fd(raw_fd);
  auto fail = [&](std::string_view step, int error) {
    ::unlinkat(dir_fd_, temp.c_str(), 0);
    return MakeError(
        fmt::format("cannot {} {}: {}", step, (dir_ / temp).string(), ErrnoText(error)));
  };
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write", errno);
    done += static_cast<std::size_t>(n);
  }
  // Without fsync a crash could leave the renamed entry empty. The directory is not
  // synced: a lost rename only costs one compilation.
  if (::fsync(fd.get()) != 0) return fail("fsync", errno);
  if (::close(fd.Release()) != 0) return fail("close", errno);
  if (::renameat(dir_fd_, temp.c_str(), dir_fd_, entry_name.c_str()) != 0) {
    return fail("rename into place", errno);
  }
  return {};
}

CacheLoad ModuleCache::Lookup(const std::shared_ptr<wasm::Engine>& engine, const std::string& name,
                              EntryIdentity& identity) {
  CacheLoad load;
  ReadOutcome entry = ReadEntry(dir_fd_, name);
  if (entry.absent) return load;
  std::string problem = std::move(entry.problem);
  std::string_view payload;
  if (problem.empty()) {
    if (auto bad = Verify(entry.bytes, identity, &payload)) {
      problem = std::move(*bad);
    } else if (auto module = wasm::Module::Deserialize(engine, payload, identity.extras); module) {
      ++hits_;
      // Recently used, for this process's evictions and (through the
      // modification time) the next process's.
      MarkUsed(name);
      ::utimensat(dir_fd_, name.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
      load.module = std::move(module).value();
      load.result = CacheResult::kHit;
      load.from_cache = true;
      return load;
    } else {
      problem = module.error().message;
    }
  }
  load.result = CacheResult::kRebuilt;
  load.reason = std::move(problem);
  spdlog::warn("module cache: entry {} not used ({}); {} {} again", (dir_ / name).string(),
               load.reason, identity.snapshot ? "pre-initializing" : "compiling",
               identity.wasm_sha256);
  return load;
}

void ModuleCache::Store(const std::string& name, const EntryIdentity& identity,
                        const wasm::Module& module) {
  auto serialized = module.Serialize();
  Status written = serialized ? Status() : Status(serialized.error());
  if (serialized) {
    const std::string contents = Header(identity, *serialized) + *serialized;
    written = contents.size() > options_.max_bytes
                  ? Status(MakeError(fmt::format("it is {} bytes, above the cache's whole limit of "
                                                 "{} bytes",
                                                 contents.size(), options_.max_bytes)))
                  : WriteEntry(name, contents);
  }
  if (!written) {
    spdlog::warn("module cache: cannot store {}{} ({}); using the {} module anyway",
                 identity.wasm_sha256, identity.snapshot ? "'s snapshot" : "",
                 written.error().message, identity.snapshot ? "pre-initialized" : "compiled");
    return;
  }
  MarkUsed(name);
  Evict();
}

Result<CacheLoad> ModuleCache::LoadOrCompile(std::shared_ptr<wasm::Engine> engine,
                                             std::string_view wasm_bytes,
                                             std::string_view wasm_sha256_hex) {
  if (!IsSha256Hex(wasm_sha256_hex)) {
    return MakeError(
        fmt::format("module cache: \"{}\" is not a lowercase hex sha256 digest", wasm_sha256_hex));
  }
  EntryIdentity identity{wasm_sha256_hex, engine->Fingerprint(), false, {}};
  const std::string name = EntryName(wasm_sha256_hex, identity.fingerprint, false);
  const std::shared_ptr<std::mutex> entry_mutex = LockFor(name);
  const std::lock_guard lock(*entry_mutex);

  CacheLoad load = Lookup(engine, name, identity);
  if (load.module) return load;
  ++(load.result == CacheResult::kRebuilt ? rebuilt_ : misses_);
  auto compiled = wasm::Module::Compile(std::move(engine), wasm_bytes);
  if (!compiled) return compiled.error();
  load.module = std::move(compiled).value();
  Store(name, identity, *load.module);
  return load;
}

Result<CacheLoad, wasm::PreinitError> ModuleCache::LoadOrPreinitialize(
    std::shared_ptr<wasm::Engine> engine, std::string_view wasm_sha256_hex,
    const Preinitializer& preinitialize) {
  if (!IsSha256Hex(wasm_sha256_hex)) {
    return wasm::PreinitError{
        .reason = wasm::NoSnapshot::kInvalidModule,
        .message = fmt::format("module cache: \"{}\" is not a lowercase hex sha256 digest",
                               wasm_sha256_hex),
        .initializer = {}};
  }
  EntryIdentity identity{wasm_sha256_hex, engine->Fingerprint(), true, {}};
  const std::string name = EntryName(wasm_sha256_hex, identity.fingerprint, true);
  const std::shared_ptr<std::mutex> entry_mutex = LockFor(name);
  const std::lock_guard lock(*entry_mutex);

  CacheLoad load = Lookup(engine, name, identity);
  if (load.module) return load;
  ++(load.result == CacheResult::kRebuilt ? rebuilt_ : misses_);
  auto made = preinitialize();
  if (!made) return made.error();
  identity.extras = made->extras;
  load.module = std::move(made->module);
  Store(name, identity, *load.module);
  return load;
}

}  // namespace discoblocks::drivers
