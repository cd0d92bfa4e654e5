#pragma once
// The hub's store node certificate authority (mutual TLS for /v1/sync/*). Kept in the data
// directory, DIR/node-ca/: ca.key (EC P-256, mode 0600) and ca.crt (self-signed, 10 years) made
// on first use; every certificate issued is kept as issued/<serial>.crt for the list.
//
// A node certificate names its store in the subject: CN=<store_id>, O=kizuna store node. The
// files handed to the node are node.crt, node.key (0600) and ca.crt, which is also what the hub
// serves with --node-ca: curl's CURLOPT_SSLCERT=node.crt, CURLOPT_SSLKEY=node.key; the node
// checks the hub's own server certificate with whatever CA signed that (CURLOPT_CAINFO).
// Thread-safety: none needed; a CLI command uses it once.

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::hub {

struct NodeCertificate {
    std::string serial;  // hex
    std::string store_id;
    core::Timestamp not_before{};
    core::Timestamp not_after{};
    std::string path;  // the hub's copy
};

inline constexpr int kNodeCertificateDays = 825;

class NodeCa {
  public:
    // DIR/node-ca/ca.crt: what `kizuna hub serve --node-ca` verifies client certificates with.
    static std::filesystem::path CertificatePath(const std::filesystem::path& data_dir);

    // Creates the CA in `data_dir` unless it exists, then issues a certificate for `store_id`
    // valid kNodeCertificateDays from `now`, and writes node.crt, node.key (0600) and ca.crt
    // into `out_dir` (created if missing; existing files are not overwritten: kAlreadyExists).
    // Errors: kInvalidArgument (an empty or malformed store id), kAlreadyExists, kUnavailable
    // (files), kInternal (OpenSSL).
    static core::Result<NodeCertificate> Issue(const std::filesystem::path& data_dir,
                                               const std::string& store_id,
                                               const std::filesystem::path& out_dir,
                                               core::Timestamp now);

    // Every certificate issued, oldest first; empty when there is no CA yet.
    static core::Result<std::vector<NodeCertificate>> List(const std::filesystem::path& data_dir);
};

}  // namespace kizuna::hub
