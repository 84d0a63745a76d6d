#include "cli/live_registry.h"

#include <curl/curl.h>

#include <memory>

#include <fmt/format.h>

#include "util/document.h"

namespace discoblocks::cli {
namespace {

// /drivers is a few KiB; anything past this is not it.
constexpr std::size_t kMaxBody = std::size_t{4} << 20;

std::size_t Collect(char* data, std::size_t size, std::size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * count > kMaxBody) return 0;  // aborts the transfer
  body->append(data, size * count);
  return size * count;
}

}  // namespace

Result<nlohmann::json> FetchLiveDrivers(const std::string& base_url) {
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/drivers";
  const std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(),
                                                                 curl_easy_cleanup);
  if (!curl) return MakeError("cannot start libcurl");
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  if (const CURLcode code = curl_easy_perform(curl.get()); code != CURLE_OK) {
    return MakeError(fmt::format("cannot read {}: {}", url, curl_easy_strerror(code)));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return MakeError(
        fmt::format("{} answered {} (is this the health port of discoblocks serve?)", url, status));
  }
  if (auto limits = CheckJsonLimits(body, url, {kMaxBody, kDefaultMaxDepth}); !limits) {
    return limits.error();
  }
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array()) {
    return MakeError(fmt::format("{} did not answer with the list of drivers", url));
  }
  return doc;
}

}  // namespace discoblocks::cli
