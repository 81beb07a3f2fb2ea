#include "server/call_metadata.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_details.h"
#include "server/common/guid.h"
#include "server/tokens/access_token_source.h"

namespace pcusage {

std::optional<absl::string_view> CallMetadata(const grpc::ServerContext& context, absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

SecretHold HoldCallerToken(const grpc::ServerContext& context) {
  const std::optional<absl::string_view> authorization = CallMetadata(context, "authorization");
  if (!authorization.has_value()) return {};
  // A value that is no bearer token is never sent upstream, but is held whole all the same.
  const absl::StatusOr<std::string> token = tokens::BearerToken(*authorization);
  return HoldSecret(token.ok() ? absl::string_view(*token) : absl::StripAsciiWhitespace(*authorization));
}

absl::StatusOr<std::string> CorrelationId(const grpc::ServerContext& context) {
  std::optional<absl::string_view> sent = CallMetadata(context, kCorrelationIdMetadata);
  if (!sent.has_value()) return NewGuid();
  if (!IsGuid(*sent)) {
    return InvalidFieldError(kCorrelationIdMetadata, absl::StrCat(kCorrelationIdMetadata,
                                                                  " metadata must be a GUID such as "
                                                                  "aaaa0000-bb11-2222-33cc-444444dddddd"));
  }
  return std::string(*sent);
}

}  // namespace pcusage
