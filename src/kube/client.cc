#include "kube/client.h"

#include <algorithm>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "kube/backoff.h"
#include "kube/transport.h"
#include "util/document.h"
#include "util/json_fields.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;

std::string Query(const std::vector<std::pair<std::string_view, std::string>>& parameters) {
  std::string query;
  for (const auto& [key, value] : parameters) {
    if (value.empty()) continue;
    query += query.empty() ? '?' : '&';
    query += fmt::format("{}={}", key, QueryEscape(value));
  }
  return query;
}

std::string NameOf(const json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end()) return {};
  return StringOr(*metadata, "name");
}

constexpr std::string_view kApplyPatch = "application/apply-patch+yaml";

// GET, PUT (with the resourceVersion it read), DELETE and server-side apply
// may be repeated. POST creates and other PATCHes may append or increment:
// they are repeated only when the server cannot have acted on them, because
// it refused them before handling (429: throttled by priority and fairness)
// or never received them. A 5xx, a timeout or a dropped connection leaves
// that open.
bool MayRetry(const HttpRequest& request, const ApiError& error) {
  if (!error.retryable()) return false;
  const bool idempotent = (request.method != "POST" && request.method != "PATCH") ||
                          request.content_type == kApplyPatch;
  if (idempotent) return true;
  return error.kind == ErrorKind::kTooManyRequests || !error.may_have_reached_server;
}

// The API server's rule for fieldManager: at most 128 printable characters.
Status CheckFieldManager(std::string_view manager) {
  if (manager.empty()) {
    return MakeError("the client's field manager is empty: writes need one to own their fields");
  }
  if (manager.size() > 128) {
    return MakeError(fmt::format(
        "the client's field manager is {} bytes long; at most 128 are allowed", manager.size()));
  }
  for (const char c : manager) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      return MakeError(fmt::format(
          "the client's field manager {:?} holds a control character; only printable ones are "
          "allowed",
          manager));
    }
  }
  return {};
}

}  // namespace

Client::Client(std::shared_ptr<const Transport> transport, RetryPolicy retry,
               std::optional<std::chrono::milliseconds> call_timeout)
    : transport_(std::move(transport)), retry_(retry), call_timeout_(call_timeout) {}
Client::~Client() = default;

Result<std::shared_ptr<Client>> Client::Create(ClientConfig config, RetryPolicy retry) {
  if (auto checked = CheckFieldManager(config.field_manager); !checked) return checked.error();
  auto transport = Transport::Create(std::move(config));
  if (!transport) return transport.error();
  return std::shared_ptr<Client>(new Client(std::move(transport).value(), retry, std::nullopt));
}

std::shared_ptr<const Client> Client::WithCallTimeout(std::chrono::milliseconds timeout) const {
  return std::shared_ptr<const Client>(new Client(transport_, retry_, timeout));
}

std::string Client::WriteQuery() const {
  return Query({{"fieldManager", transport_->config().field_manager}});
}

const ClientConfig& Client::config() const { return transport_->config(); }

KubeStatus Client::Ping(std::chrono::milliseconds timeout) const {
  HttpRequest request;
  request.path = "/version";
  request.timeout = timeout;
  auto response = transport_->Send(request);
  if (!response) return response.error();
  if (response->status != 200)
    return ErrorFromResponse(response->status, response->body, "GET /version");
  return {};
}

KubeResult<json> Client::Request(std::string method, std::string path, std::string what,
                                 const json* body, std::string content_type) const {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.content_type = std::move(content_type);
  if (body != nullptr) request.body = body->dump(-1, ' ', false, json::error_handler_t::replace);

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + call_timeout_.value_or(std::chrono::milliseconds(0));
  auto time_left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  };
  Backoff backoff(retry_.initial_backoff, retry_.max_backoff);
  for (int attempt = 1;; ++attempt) {
    if (call_timeout_) {
      const auto left = time_left();
      if (left <= std::chrono::milliseconds(0)) {
        return MakeApiError(ErrorKind::kTimeout,
                            fmt::format("{}: not sent: the call's {} ms were used up", what,
                                        call_timeout_->count()));
      }
      request.timeout = std::min(left, transport_->config().request_timeout);
    }
    ApiError error;
    std::chrono::seconds retry_after{0};
    auto response = transport_->Send(request);
    if (response.ok() && response->status >= 200 && response->status < 300) {
      // The answer is already in memory, so only its nesting is limited: what
      // callers do with it (copy, compare, dump) recurses.
      if (auto limits = CheckJsonLimits(response->body, what, {kNoByteLimit, kDefaultMaxDepth});
          !limits) {
        return MakeApiError(ErrorKind::kMalformedResponse, limits.error().message);
      }
      json parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) {
        return MakeApiError(ErrorKind::kMalformedResponse,
                            fmt::format("{}: the server's answer is not JSON: {}", what,
                                        response->body.substr(0, 120)));
      }
      return parsed;
    }
    if (response.ok()) {
      error = ErrorFromResponse(response->status, response->body, what);
      retry_after = response->retry_after;
    } else {
      error = response.error();
      error.message = fmt::format("{}: {}", what, error.message);
    }
    if (attempt >= retry_.max_attempts || !MayRetry(request, error)) return error;
    const auto wait = std::min<std::chrono::milliseconds>(
        std::max<std::chrono::milliseconds>(backoff.Next(), retry_after), retry_.max_backoff * 2);
    // No time for another attempt: the last failure says best what went wrong.
    if (call_timeout_ && wait >= time_left()) return error;
    std::this_thread::sleep_for(wait);
  }
}

KubeResult<json> Client::Get(const ResourceType& type, std::string_view ns,
                             std::string_view name) const {
  return Request("GET", type.ObjectPath(ns, name),
                 fmt::format("get {} {}/{}", type.Name(), ns, name));
}

KubeResult<json> Client::List(const ResourceType& type, std::string_view ns,
                              const ListOptions& options) const {
  const std::string path =
      type.CollectionPath(ns) +
      Query({{"labelSelector", options.label_selector},
             {"fieldSelector", options.field_selector},
             {"limit", options.limit > 0 ? std::to_string(options.limit) : std::string()},
             {"continue", options.continue_token},
             {"resourceVersion", options.resource_version}});
  return Request("GET", path, fmt::format("list {} in {}", type.Name(), ns.empty() ? "*" : ns));
}

KubeResult<json> Client::ListAll(const ResourceType& type, std::string_view ns,
                                 ListOptions options) const {
  auto first = List(type, ns, options);
  if (!first) return first;
  json all = std::move(first).value();
  if (!all.contains("items") || !all["items"].is_array()) all["items"] = json::array();
  while (true) {
    const std::string token = StringOr(all["metadata"], "continue");
    if (token.empty()) break;
    options.continue_token = token;
    options.resource_version.clear();  // a continue token carries its own version
    auto page = List(type, ns, options);
    if (!page) return page;
    if ((*page)["items"].is_array()) {
      for (auto& item : (*page)["items"]) all["items"].push_back(std::move(item));
    }
    all["metadata"] = (*page)["metadata"];
  }
  if (all["metadata"].is_object()) all["metadata"].erase("continue");
  return all;
}

KubeResult<json> Client::Create(const ResourceType& type, std::string_view ns,
                                const json& object) const {
  return Request("POST", type.CollectionPath(ns) + WriteQuery(),
                 fmt::format("create {} {}/{}", type.Name(), ns, NameOf(object)), &object);
}

KubeResult<json> Client::Update(const ResourceType& type, std::string_view ns,
                                const json& object) const {
  const std::string name = NameOf(object);
  return Request("PUT", type.ObjectPath(ns, name) + WriteQuery(),
                 fmt::format("update {} {}/{}", type.Name(), ns, name), &object);
}

KubeResult<json> Client::UpdateStatus(const ResourceType& type, std::string_view ns,
                                      const json& object) const {
  const std::string name = NameOf(object);
  return Request("PUT", type.ObjectPath(ns, name) + "/status" + WriteQuery(),
                 fmt::format("update status of {} {}/{}", type.Name(), ns, name), &object);
}

KubeResult<json> Client::MergePatch(const ResourceType& type, std::string_view ns,
                                    std::string_view name, const json& patch, bool status) const {
  return Request("PATCH", type.ObjectPath(ns, name) + (status ? "/status" : "") + WriteQuery(),
                 fmt::format("patch {} {}/{}", type.Name(), ns, name), &patch,
                 "application/merge-patch+json");
}

KubeResult<json> Client::JsonPatch(const ResourceType& type, std::string_view ns,
                                   std::string_view name, const json& operations,
                                   bool status) const {
  return Request("PATCH", type.ObjectPath(ns, name) + (status ? "/status" : "") + WriteQuery(),
                 fmt::format("patch {} {}/{}", type.Name(), ns, name), &operations,
                 "application/json-patch+json");
}

KubeResult<json> Client::Apply(const ResourceType& type, std::string_view ns, std::string_view name,
                               const json& object, bool force) const {
  return ApplyTo(type, ns, name, object, force, /*status=*/false);
}

KubeResult<json> Client::ApplyStatus(const ResourceType& type, std::string_view ns,
                                     std::string_view name, const json& object, bool force) const {
  return ApplyTo(type, ns, name, object, force, /*status=*/true);
}

KubeResult<json> Client::ApplyTo(const ResourceType& type, std::string_view ns,
                                 std::string_view name, const json& object, bool force,
                                 bool status) const {
  const std::string what =
      fmt::format("apply {}{} {}/{}", status ? "status of " : "", type.Name(), ns, name);
  // Refused here with the reason rather than by the server with a vaguer one.
  auto refuse = [&](std::string_view why) {
    ApiError error = MakeApiError(ErrorKind::kBadRequest, fmt::format("{}: {}", what, why));
    error.may_have_reached_server = false;
    return error;
  };
  if (name.empty()) return refuse("no name given");
  if (!object.is_object()) return refuse("the object to apply is not a JSON object");
  if (StringOr(object, "apiVersion").empty() || StringOr(object, "kind").empty()) {
    return refuse("the object to apply needs apiVersion and kind");
  }
  json body = object;
  json& metadata = body["metadata"];
  if (metadata.is_null()) metadata = json::object();
  if (!metadata.is_object()) return refuse("metadata is not an object");
  const std::string given = StringOr(metadata, "name");
  if (!given.empty() && given != name) {
    return refuse(fmt::format("the object is named {:?}, not {:?}", given, name));
  }
  if (metadata.contains("managedFields")) {
    return refuse("metadata.managedFields must be absent: the server keeps it");
  }
  metadata["name"] = name;
  const std::string path =
      type.ObjectPath(ns, name) + (status ? "/status" : "") +
      Query({{"fieldManager", transport_->config().field_manager}, {"force", force ? "true" : ""}});
  // JSON is YAML, so the apply body needs no YAML encoder.
  return Request("PATCH", path, what, &body, std::string(kApplyPatch));
}

KubeStatus Client::Delete(const ResourceType& type, std::string_view ns,
                          std::string_view name) const {
  auto deleted = Request("DELETE", type.ObjectPath(ns, name),
                         fmt::format("delete {} {}/{}", type.Name(), ns, name));
  if (!deleted) return deleted.error();
  return {};
}

KubeStatus Client::Watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                         const std::function<bool(const WatchEvent&)>& on_event,
                         const std::atomic<bool>& cancel) const {
  HttpRequest request;
  request.path = type.CollectionPath(ns) +
                 Query({{"watch", "true"},
                        {"labelSelector", options.label_selector},
                        {"fieldSelector", options.field_selector},
                        {"resourceVersion", options.resource_version},
                        {"allowWatchBookmarks", options.allow_bookmarks ? "true" : ""},
                        {"timeoutSeconds", std::to_string(options.timeout.count())}});
  // The server ends the stream after timeoutSeconds; a stream still open well
  // after that is a dead connection.
  request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout) +
                    std::chrono::seconds(30);
  const std::string what = fmt::format("watch {} in {}", type.Name(), ns.empty() ? "*" : ns);

  std::string pending;  // the part of a line not yet ended by '\n'
  std::optional<ApiError> failure;
  auto on_data = [&](std::string_view chunk) {
    pending.append(chunk);
    std::size_t start = 0;
    for (std::size_t end = pending.find('\n'); end != std::string::npos;
         end = pending.find('\n', start)) {
      const std::string_view line(pending.data() + start, end - start);
      start = end + 1;
      if (line.empty()) continue;
      if (auto limits = CheckJsonLimits(line, what, {kNoByteLimit, kDefaultMaxDepth}); !limits) {
        failure = MakeApiError(ErrorKind::kMalformedResponse, limits.error().message);
        return false;
      }
      json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
      const std::string type_name = StringOr(event, "type");
      if (type_name == "ERROR") {
        // An error event carries a metav1.Status, e.g. 410 Gone.
        const json& status = event["object"];
        const auto code = status.is_object() ? status.find("code") : status.end();
        failure = ErrorFromResponse(
            code != status.end() && code->is_number_integer() ? code->get<long>() : 500,
            status.dump(-1, ' ', false, json::error_handler_t::replace), what);
        return false;
      }
      WatchEvent parsed;
      if (type_name == "ADDED") {
        parsed.type = WatchEvent::Type::kAdded;
      } else if (type_name == "MODIFIED") {
        parsed.type = WatchEvent::Type::kModified;
      } else if (type_name == "DELETED") {
        parsed.type = WatchEvent::Type::kDeleted;
      } else if (type_name == "BOOKMARK") {
        parsed.type = WatchEvent::Type::kBookmark;
      } else {
        failure = MakeApiError(
            ErrorKind::kMalformedResponse,
            fmt::format("{}: unexpected event: {}", what, std::string(line.substr(0, 120))));
        return false;
      }
      parsed.object = std::move(event["object"]);
      if (!parsed.object.is_object()) {
        failure = MakeApiError(ErrorKind::kMalformedResponse,
                               fmt::format("{}: event without an object", what));
        return false;
      }
      if (!on_event(parsed)) return false;
    }
    pending.erase(0, start);
    return true;
  };
  auto streamed = transport_->Stream(request, on_data, cancel);
  if (failure) return *failure;
  if (!streamed) {
    ApiError error = streamed.error();
    if (error.kind == ErrorKind::kTransport || error.kind == ErrorKind::kTimeout) {
      error.message = fmt::format("{}: {}", what, error.message);
    }
    return error;
  }
  return {};
}

}  // namespace discoblocks::kube
