#include "operator/resize_policy.h"

#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "kube/quantity.h"
#include "util/duration.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

constexpr int kMostModifications = 1000;

Error FieldError(std::string_view field, std::string_view why) {
  return MakeError(fmt::format("resize policy: {}: {}", field, why));
}

// A positive quantity of whole bytes (rounded up), at most 2^63-1.
Result<std::int64_t> Bytes(const json& value, std::string_view field) {
  if (!value.is_string() && !value.is_number_integer()) {
    return FieldError(
        field, fmt::format("expected a quantity such as \"1Gi\", got {}", JsonTypeName(value)));
  }
  auto quantity = kube::Quantity::FromJson(value);
  if (!quantity) return FieldError(field, quantity.error().message);
  if (!quantity->IsPositive()) return FieldError(field, "must be greater than zero");
  if (quantity->millis() / 1000 >= std::numeric_limits<std::int64_t>::max()) {
    return FieldError(field, fmt::format("{} is 2^63-1 bytes or more", quantity->text()));
  }
  return quantity->CeilUnits();
}

}  // namespace

Result<ResizePolicy> ParseResizePolicy(const json& value) {
  ResizePolicy policy;
  if (value.is_null()) return policy;
  if (!value.is_object()) return WrongType("resize policy", "an object", value);
  if (const auto found = value.find("granularity"); found != value.end() && !found->is_null()) {
    auto bytes = Bytes(*found, "granularity");
    if (!bytes) return bytes.error();
    policy.granularity_bytes = *bytes;
  }
  if (const auto found = value.find("minimumIncrease"); found != value.end() && !found->is_null()) {
    auto bytes = Bytes(*found, "minimumIncrease");
    if (!bytes) return bytes.error();
    policy.minimum_increase_bytes = *bytes;
  }
  if (const auto found = value.find("maxModifications");
      found != value.end() && !found->is_null()) {
    if (!found->is_number_integer()) {
      return FieldError("maxModifications",
                        fmt::format("expected an integer, got {}", JsonTypeName(*found)));
    }
    const bool in_range =
        found->is_number_unsigned()
            ? found->get<std::uint64_t>() <= kMostModifications
            : found->get<std::int64_t>() >= 0 && found->get<std::int64_t>() <= kMostModifications;
    if (!in_range) {
      return FieldError("maxModifications", fmt::format("{} is not between 0 and {}", found->dump(),
                                                        kMostModifications));
    }
    policy.max_modifications = found->get<int>();
  }
  if (const auto found = value.find("window"); found != value.end() && !found->is_null()) {
    if (!found->is_string()) {
      return FieldError("window", fmt::format("expected a duration such as \"24h\", got {}",
                                              JsonTypeName(*found)));
    }
    auto window = ParseDuration(found->get<std::string>());
    if (!window) return FieldError("window", window.error().message);
    if (*window < std::chrono::seconds(1)) return FieldError("window", "must be at least 1s");
    policy.window = std::chrono::duration_cast<std::chrono::seconds>(*window);
  }
  if (policy.max_modifications > 0 && policy.window.count() == 0) {
    return FieldError("window", "is required when maxModifications is above 0");
  }
  return policy;
}

}  // namespace discoblocks::op
