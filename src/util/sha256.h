// SHA-256 digests (OpenSSL), used to identify driver versions.
#pragma once

#include <string>
#include <string_view>

namespace discoblocks {

// Returns the lowercase hex SHA-256 of data.
std::string Sha256Hex(std::string_view data);

}  // namespace discoblocks
