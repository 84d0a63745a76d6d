#include "util/base64.h"

#include <fmt/format.h>
#include <openssl/evp.h>

namespace discoblocks {

std::string Base64Encode(std::string_view data) {
  // OpenSSL's encoder takes an int length; encode in chunks well below it.
  // A multiple of 3 bytes per chunk keeps the padding at the very end.
  constexpr std::size_t kChunk = std::size_t{3} << 20;
  std::string encoded;
  encoded.reserve((data.size() + 2) / 3 * 4 + 1);
  while (!data.empty()) {
    const std::string_view chunk = data.substr(0, kChunk);
    const std::size_t at = encoded.size();
    encoded.resize(at + (chunk.size() + 2) / 3 * 4 + 1);  // EVP_EncodeBlock adds a NUL
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data() + at),
                                        reinterpret_cast<const unsigned char*>(chunk.data()),
                                        static_cast<int>(chunk.size()));
    encoded.resize(at + static_cast<std::size_t>(written));
    data.remove_prefix(chunk.size());
  }
  return encoded;
}

Result<std::string> Base64Decode(std::string_view what, std::string_view encoded) {
  std::string compact;
  for (char c : encoded) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact.push_back(c);
  }
  if (compact.size() % 4 != 0) {
    return MakeError(fmt::format("{} is not valid base64 (length {} is not a multiple of 4)", what,
                                 compact.size()));
  }
  std::string decoded(compact.size() / 4 * 3, '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                     reinterpret_cast<const unsigned char*>(compact.data()),
                                     static_cast<int>(compact.size()));
  if (length < 0) return MakeError(fmt::format("{} is not valid base64", what));
  std::size_t padding = 0;
  while (padding < compact.size() && compact[compact.size() - 1 - padding] == '=') ++padding;
  decoded.resize(static_cast<std::size_t>(length) - padding);
  return decoded;
}

}  // namespace discoblocks
