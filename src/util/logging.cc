#include "util/logging.h"

#include <memory>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace discoblocks {
namespace {

// Marks a payload that is a JSON object of fields rather than a plain message.
constexpr char kStructured = '\x1e';

std::string JsonString(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// %* in the JSON pattern: "msg":"..." and, for structured events, the fields.
class JsonPayloadFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string text;
    if (!payload.empty() && payload[0] == kStructured) {
      const auto event = nlohmann::json::parse(payload.substr(1), nullptr, false);
      if (event.is_object() && event.contains("fields") && event["fields"].is_object()) {
        text = "\"msg\":" + JsonString(event.value("msg", ""));
        const nlohmann::json& fields = event["fields"];
        for (const auto& [key, value] : fields.items()) {
          text += "," + JsonString(key) + ":" +
                  value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
      }
    }
    if (text.empty()) text = "\"msg\":" + JsonString(payload);
    dest.append(text.data(), text.data() + text.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonPayloadFlag>();
  }
};

// %* in the text pattern: the message, then key=value for structured events.
class TextPayloadFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string text(payload);
    if (!payload.empty() && payload[0] == kStructured) {
      const auto event = nlohmann::json::parse(payload.substr(1), nullptr, false);
      if (event.is_object() && event.contains("fields") && event["fields"].is_object()) {
        text = event.value("msg", "");
        const nlohmann::json& fields = event["fields"];
        for (const auto& [key, value] : fields.items()) {
          text += " " + key + "=" +
                  (value.is_string()
                       ? value.get<std::string>()
                       : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
      }
    }
    dest.append(text.data(), text.data() + text.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextPayloadFlag>();
  }
};

}  // namespace

void SetupLogging(LogFormat format, std::string_view level) {
  auto logger = std::make_shared<spdlog::logger>("discoblocks",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  std::unique_ptr<spdlog::pattern_formatter> formatter;
  if (format == LogFormat::kJson) {
    formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonPayloadFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%*})");
  } else {
    formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<TextPayloadFlag>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %*");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(std::move(logger));
}

void LogEvent(spdlog::level::level_enum level, std::string_view message,
              const nlohmann::json& fields) {
  if (!spdlog::should_log(level)) return;
  const nlohmann::json event = {{"msg", message}, {"fields", fields}};
  spdlog::log(level, "{}{}", kStructured,
              event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace discoblocks
