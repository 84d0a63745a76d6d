// Throwaway certificates for tests (OpenSSL): a self-signed certificate and
// its key, in PEM.
#pragma once

#include <string>

namespace discoblocks::testing {

struct KeyPair {
  std::string certificate_pem;
  std::string private_key_pem;
};

// `alt_names` are subjectAltName entries such as "IP:127.0.0.1" or
// "DNS:localhost"; with them the certificate can serve TLS and be its own CA.
KeyPair SelfSignedCertificate(const std::string& common_name, const std::string& alt_names = "");

std::string Base64(const std::string& data);

}  // namespace discoblocks::testing
