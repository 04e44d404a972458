// JSON mapping of the coordinator's replies (docs/protocol.md). Each parser checks the shape
// it needs and throws Error kMalformedResponse naming the field when the reply is not valid
// JSON, a required field is missing, or a field has the wrong type. Unknown fields are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "farmhand/backend/types.hpp"

namespace farmhand::backend {

/// POST /api/v1/auth/challenge 200: {"challenge": "<1..1024 chars>", ...} -> the challenge.
std::string parse_challenge(std::string_view body);

/// POST /api/v1/auth/authenticate 200: {"access_token": "<JWT>", "expires_in": N, ...}
/// (`token` is accepted as the older name). expires_in, when present, must be an integer > 0;
/// a seed-literal backend sends none (docs/protocol.md "Seed-literal backends").
struct TokenReply {
  std::string token;
  std::optional<std::int64_t> expires_in;  // seconds; nullopt when the backend sent none
};
TokenReply parse_token_reply(std::string_view body);

/// GET /api/v1/jobs/available 200: {"jobs": [<job>, ...]} (a bare list is accepted too).
std::vector<JobOffer> parse_offers(std::string_view body);

/// One job object -> JobOffer, every value checked against docs/protocol.md ("Values from a
/// backend"): id (integer 1..2^63-1), asset_cid (1..128 chars), reward (string of <= 64 chars,
/// or a JSON number as a seed backend may send; absent = ""), frames (<= 10000 integers in
/// [-1048574, 1048574]; absent/null = []), output_format (a format name of 1..32 of A-Z, 0-9, _:
/// PNG, JPEG, OPEN_EXR, or another the engine fails as unsupported_format; absent/null =
/// "PNG").
JobOffer parse_offer_json(std::string_view job_json);

/// assign/heartbeat 200: {"success": true, "lease_expires_at": "<ts>", "lease_seconds": 60}.
/// Both lease fields are optional (a seed-literal assign answers {"success": true} only);
/// when present, lease_expires_at must be a string and lease_seconds a number in (0, 86400].
struct Lease {
  std::string expires_at;  // ISO 8601, "" when the backend sent none
  double seconds = 0;      // lease length in seconds, 0 when the backend sent none
};
Lease parse_lease(std::string_view body);

/// complete/fail/release 200: {"success": true, ...}. `success` must not be false.
void parse_success(std::string_view body);

/// Error body {"error": {"code": "...", "message": "..."}} (protocol.md "Error body"),
/// best effort: never throws; empty strings when the body is not that shape.
struct ErrorReply {
  std::string code;
  std::string message;
};
ErrorReply parse_error_reply(std::string_view body);

}  // namespace farmhand::backend
