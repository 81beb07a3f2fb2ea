// The gRPC listener's security: TLS (and mTLS) credentials and caller authentication from their files, and the
// policy that decides whether an address may serve server-held Partner Center credentials. The files are re-read when
// they change, without a restart; a bad new file keeps the one in force and is logged. The policy is a pure function,
// so every combination is unit-tested without starting a process.
#ifndef PCUSAGE_SERVER_LISTENER_H_
#define PCUSAGE_SERVER_LISTENER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "server/callers/caller_authenticator.h"

namespace pcusage {

struct ListenerFiles {
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;      // with it, mTLS
  std::string client_allow_list_file;  // needs tls_client_ca_file
  std::string api_keys_file;
  // The least time between two looks (stat) at these files for a change (--listener_reload_interval).
  absl::Duration reload_interval = absl::Seconds(5);
};

// The listener's TLS material as read from its files, checked.
struct TlsMaterial {
  std::string private_key;        // PEM
  std::string certificate_chain;  // PEM, the server's certificate first
  std::string client_ca;          // PEM; empty without mTLS
  std::string description;        // for the log: the certificate's subject and end of validity
};

// Reads the TLS files and checks what gRPC would only find out in a handshake: the key and every certificate parse,
// the key is the first certificate's, that certificate has not expired, the client CA file holds a certificate.
// INVALID_ARGUMENT naming the flag and the file otherwise (never quoting them).
absl::StatusOr<TlsMaterial> ReadTlsMaterial(const ListenerFiles& files);

// The listener's transport security and who may call it.
struct Listener {
  // With TLS, credentials that use the newest TLS material that passed ReadTlsMaterial: a connection's handshake
  // looks at the files when reload_interval has passed since the last look, and connections made after a change get
  // the new certificate (existing ones keep theirs). They must be added to one port only and outlive the server.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  bool tls = false;
  std::shared_ptr<const callers::CallerAuthenticator> callers;
};

// Reads the files. INVALID_ARGUMENT naming the flags when they do not go together, cannot be read or are not valid.
absl::StatusOr<Listener> MakeListener(const ListenerFiles& files);

// What the policy looks at.
struct ListenerExposure {
  bool loopback = true;                   // only local processes can reach the address
  bool tls = false;                       // the listener speaks TLS
  bool callers_authenticated = false;     // API keys or an mTLS allow list
  bool server_holds_credentials = false;  // static or refresh_token mode
  bool insecure = false;                  // --insecure
};

// FAILED_PRECONDITION, saying what to configure, when anyone who reaches a non-loopback address would read the
// partner's billing data: server-held credentials without TLS and caller authentication, unless --insecure.
absl::Status CheckListenerPolicy(const ListenerExposure& exposure, absl::string_view listen);

// The start-up warning for a non-loopback listener without TLS and caller authentication, if one is due.
std::optional<std::string> ListenerWarning(const ListenerExposure& exposure, absl::string_view listen);

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_LISTENER_H_
