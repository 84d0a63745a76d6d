// One client connection of the HTTP server: TLS handshake, keep-alive,
// limits and timeouts, the handler call, the response. Internal to src/server/.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "server/server_state.h"
#include "server/tls_context.h"

namespace discoblocks::server::internal {

// Takes over an accepted socket and serves it until it closes. `tls` is null
// for plain HTTP. The socket's executor should be a strand of its own.
void StartConnection(std::shared_ptr<ServerState> state, boost::asio::ip::tcp::socket socket,
                     SslContextPtr tls);

}  // namespace discoblocks::server::internal
