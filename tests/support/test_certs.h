// Throwaway server certificates for TLS tests, valid for "localhost" and
// 127.0.0.1. Every certificate may also issue others, so that tests can build
// chains; a self-signed one is its own trust anchor.
#pragma once

#include <string>

#include "support/pki.h"

namespace discoblocks::testing {

// Self-signed, with a new key. Give each certificate of a test its own common
// name: a client trusting several of them finds the right one by subject.
KeyPair ServerCertificate(const std::string& common_name);

// Signed by `issuer` (a pair from either function), with a new key.
KeyPair IssueCertificate(const std::string& common_name, const KeyPair& issuer);

}  // namespace discoblocks::testing
