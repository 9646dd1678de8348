// TLS contexts (see openssl.hpp).
#include "openssl.hpp"

#include <openssl/x509v3.h>

#include <stdexcept>

#include "names.hpp"

namespace dnsd {

namespace {

SslCtxPtr new_context(const SSL_METHOD* method, const std::string& who) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) throw std::runtime_error(who + ": cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  return ctx;
}

void load_certificate(SSL_CTX* ctx, const std::string& who, const std::string& cert_file, const std::string& key_file) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    throw std::runtime_error(who + ": cannot load the certificate '" + cert_file + "'");
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    throw std::runtime_error(who + ": cannot load the key '" + key_file + "' (or it does not match the certificate)");
}

}  // namespace

SslCtxPtr server_tls_context(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file) {
  SslCtxPtr ctx = new_context(TLS_server_method(), "control");
  load_certificate(ctx.get(), "control", cert_file, key_file);
  if (!client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), client_ca_file.c_str(), nullptr) != 1)
      throw std::runtime_error("control: cannot load the client CA '" + client_ca_file + "'");
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

SslCtxPtr client_tls_context(const std::string& who, const std::string& ca_file, const std::string& cert_file,
                             const std::string& key_file) {
  SslCtxPtr ctx = new_context(TLS_client_method(), who);
  if (ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) != 1
                      : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error(who + ": cannot load the CA file '" + ca_file + "'");
  if (!cert_file.empty()) load_certificate(ctx.get(), who, cert_file, key_file);
  return ctx;
}

void verify_peer_name(SSL* ssl, const std::string& name) {
  if (is_ip_address(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
}

}  // namespace dnsd
