// Throwaway certificates for tests (OpenSSL): a self-signed certificate and
// its key, in PEM.
#pragma once

#include <string>

namespace discoblocks::testing {

struct KeyPair {
  std::string certificate_pem;
  std::string private_key_pem;
};

KeyPair SelfSignedCertificate(const std::string& common_name);

std::string Base64(const std::string& data);

}  // namespace discoblocks::testing
