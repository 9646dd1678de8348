// OpenSSL for the control plane and the CLI: owners of its handles (TLS, HMAC), and the few TLS
// contexts dnsd builds (the control endpoint's server side; the client side of health probes and `dnsd register`).
// Control plane; never linked into the data plane. Context builders run at start-up, on reload or
// on a probe target change, and throw std::runtime_error naming the file they cannot load.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <string>

#include "raii.hpp"

namespace dnsd {

using SslCtxPtr = CPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = CPtr<SSL, SSL_free>;
using SslSessionPtr = CPtr<SSL_SESSION, SSL_SESSION_free>;
using MacPtr = CPtr<EVP_MAC, EVP_MAC_free>;
using MacCtxPtr = CPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;

// A TLS 1.2+ server context with this certificate chain and key; with a client CA every client must
// present a certificate it signed.
SslCtxPtr server_tls_context(const std::string& cert_file, const std::string& key_file, const std::string& client_ca_file);

// A TLS 1.2+ client context trusting ca_file (empty: the system's trust store), presenting cert_file
// and key_file when set. `who` starts error messages ("health", "dnsd register").
SslCtxPtr client_tls_context(const std::string& who, const std::string& ca_file, const std::string& cert_file,
                             const std::string& key_file);

// Makes the session verify the peer's certificate for `name`: an IP address is matched as one, any
// other name as a host name, which is also sent as SNI.
void verify_peer_name(SSL* ssl, const std::string& name);

}  // namespace dnsd
