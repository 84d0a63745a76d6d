// Logging set-up: human-readable text for the command line, JSON lines for the
// operator (one object per line: time, level, logger, msg, and any fields of a
// structured event). Built on spdlog.
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace discoblocks {

enum class LogFormat { kText, kJson };

// Replaces the default logger: stderr, the given format and level ("info", ...).
void SetupLogging(LogFormat format, std::string_view level);

// One structured event: `message` plus `fields` (an object). In JSON it becomes
// one line with the fields beside "msg"; in text, key=value pairs after it.
void LogEvent(spdlog::level::level_enum level, std::string_view message,
              const nlohmann::json& fields);

}  // namespace discoblocks
