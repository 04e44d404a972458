// The engine's ports on the real services: backend::Client (coordinator API) and
// ipfs::Client (verified download, upload), with the worker's Ed25519 identity.
#pragma once

#include "farmhand/engine/config.hpp"
#include "farmhand/engine/ports.hpp"

namespace farmhand::engine {

/// Loads (or creates, 0600) the key at config.key_file and returns factories making one
/// backend and one IPFS client per engine thread. Throws kKeyFile for an unusable key file.
/// Upload: one ipfs::Client per entry of ipfs_rpc_urls, so the engine can move on to the
/// next API when one fails; download: one client over all RPC APIs and gateways, capped at
/// config.max_job_bytes.
Ports make_real_ports(const Config& config);

}  // namespace farmhand::engine
