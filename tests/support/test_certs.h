// Throwaway server certificates for TLS tests: self-signed, valid for
// "localhost" and 127.0.0.1, and usable as their own trust anchor.
#pragma once

#include <string>

#include "support/pki.h"

namespace discoblocks::testing {

// Each call makes a new key. Give each certificate of a test its own common
// name: a client trusting several of them finds the right one by subject.
KeyPair ServerCertificate(const std::string& common_name);

}  // namespace discoblocks::testing
