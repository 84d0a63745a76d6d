#include "support/test_certs.h"

#include <memory>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace discoblocks::testing {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return {data, static_cast<std::size_t>(length)};
}

BioPtr MemoryBio(const std::string& text) {
  return {BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free};
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)> extension(
      X509V3_EXT_conf_nid(nullptr, &context, nid, value), &X509_EXTENSION_free);
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) {
    throw std::runtime_error("openssl: cannot add a certificate extension");
  }
}

// `issuer_cert` and `issuer_key` null: self-signed.
KeyPair Make(const std::string& common_name, X509* issuer_cert, EVP_PKEY* issuer_key) {
  KeyPtr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  X509Ptr cert(X509_new(), &X509_free);
  if (!key || !cert) throw std::runtime_error("openssl: cannot create a key or certificate");
  X509_set_version(cert.get(), 2);
  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof serial) != 1) throw std::runtime_error("openssl: no randomness");
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, decltype(&BN_free)> number(BN_bin2bn(serial, sizeof serial, nullptr),
                                                     &BN_free);
  BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509* issuer = issuer_cert != nullptr ? issuer_cert : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));
  AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature,keyCertSign");
  AddExtension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (issuer_cert != nullptr) {
    AddExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  }
  AddExtension(cert.get(), issuer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("openssl: cannot sign");
  }
  BioPtr cert_bio(BIO_new(BIO_s_mem()), &BIO_free);
  BioPtr key_bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return {BioText(cert_bio.get()), BioText(key_bio.get())};
}

}  // namespace

KeyPair ServerCertificate(const std::string& common_name) {
  return Make(common_name, nullptr, nullptr);
}

KeyPair IssueCertificate(const std::string& common_name, const KeyPair& issuer) {
  BioPtr cert_bio = MemoryBio(issuer.certificate_pem);
  BioPtr key_bio = MemoryBio(issuer.private_key_pem);
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!cert || !key) throw std::runtime_error("openssl: cannot read the issuer");
  return Make(common_name, cert.get(), key.get());
}

}  // namespace discoblocks::testing
