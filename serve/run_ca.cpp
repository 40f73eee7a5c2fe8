#include "serve/run_ca.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

namespace failover::serve {
namespace {

// Owners of OpenSSL objects: freed on every path out.
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

constexpr long kValidSeconds = 24L * 60 * 60;

Key make_key() {
  return Key(EVP_EC_gen("P-256"));
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `common_name`, signed by `issuer_key` (issuer null:
// self-signed), with the given extensions.
Cert make_cert(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key, long serial,
               const std::vector<std::pair<int, const char*>>& extensions) {
  Cert cert(X509_new());
  if (!cert) return nullptr;
  X509* c = cert.get();
  if (X509_set_version(c, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(c), serial) != 1) return nullptr;
  if (X509_gmtime_adj(X509_getm_notBefore(c), -60) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(c), kValidSeconds) == nullptr) {
    return nullptr;
  }
  if (X509_set_pubkey(c, key) != 1) return nullptr;
  X509_NAME* name = X509_get_subject_name(c);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1,
                                 0) != 1) {
    return nullptr;
  }
  if (X509_set_issuer_name(c, issuer != nullptr ? X509_get_subject_name(issuer) : name) != 1) return nullptr;
  for (const auto& [nid, value] : extensions) {
    if (!add_extension(c, issuer != nullptr ? issuer : c, nid, value)) return nullptr;
  }
  if (X509_sign(c, issuer_key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

// Writes with `write` into a new file readable by its owner only.
template <class Write>
bool write_pem(const std::string& path, Write write) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return false;
  }
  const bool ok = write(f) == 1;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

Result<std::unique_ptr<RunCa>> RunCa::make() {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) base = "/tmp";
  std::string pattern = (base / "failover-run-ca-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return Error{"tls", "cannot make a private directory for the run's CA (" + pattern + "): " + std::strerror(errno)};
  }
  std::unique_ptr<RunCa> ca(new RunCa());
  ca->dir_ = buf.data();  // from here on the destructor removes it
  ca->ca_file_ = ca->dir_ + "/ca.pem";
  ca->cert_file_ = ca->dir_ + "/server.pem";
  ca->key_file_ = ca->dir_ + "/server.key";

  const Key ca_key = make_key();
  const Key server_key = make_key();
  if (!ca_key || !server_key) return Error{"tls", "cannot make an EC P-256 key for the run's CA"};
  const Cert ca_cert = make_cert(ca_key.get(), "failover run CA", nullptr, ca_key.get(), 1,
                                 {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                  {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                  {NID_subject_key_identifier, "hash"}});
  if (!ca_cert) return Error{"tls", "cannot make the run's CA certificate"};
  const Cert server_cert = make_cert(server_key.get(), "localhost", ca_cert.get(), ca_key.get(), 2,
                                     {{NID_basic_constraints, "critical,CA:FALSE"},
                                      {NID_key_usage, "critical,digitalSignature"},
                                      {NID_ext_key_usage, "serverAuth"},
                                      {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                                      {NID_authority_key_identifier, "keyid"}});
  if (!server_cert) return Error{"tls", "cannot make the run's server certificate"};
  const bool written = write_pem(ca->ca_file_, [&](std::FILE* f) { return PEM_write_X509(f, ca_cert.get()); }) &&
                       write_pem(ca->cert_file_, [&](std::FILE* f) { return PEM_write_X509(f, server_cert.get()); }) &&
                       write_pem(ca->key_file_, [&](std::FILE* f) {
                         return PEM_write_PrivateKey(f, server_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
                       });
  if (!written) return Error{"tls", "cannot write the run's CA files into " + ca->dir_};
  return ca;  // the CA's own key is never written: nothing can sign with it after this
}

RunCa::~RunCa() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace failover::serve
