// JSON mapping of the coordinator's replies (docs/protocol.md). Each parser checks the shape
// it needs and throws Error kMalformedResponse naming the field when the reply is not valid
// JSON, a required field is missing, or a field has the wrong type. Unknown fields are ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "farmhand/backend/types.hpp"

namespace farmhand::backend {

/// POST /api/v1/auth/challenge 200: {"challenge": "<hex>", ...} -> the challenge.
std::string parse_challenge(std::string_view body);

/// POST /api/v1/auth/authenticate 200: {"token": "<JWT>", "expires_in": N, ...}.
/// `access_token` is accepted as another name for `token`. expires_in must be an integer > 0.
struct TokenReply {
  std::string token;
  std::int64_t expires_in = 0;  // seconds
};
TokenReply parse_token_reply(std::string_view body);

/// GET /api/v1/jobs/available 200: {"jobs": [<job>, ...]} (a bare list is accepted too).
std::vector<JobOffer> parse_offers(std::string_view body);

/// One job object -> JobOffer: id (positive integer), asset_cid (non-empty string),
/// reward (string), frames (list of ints, absent/null = []), output_format (string,
/// absent/null = "PNG").
JobOffer parse_offer_json(std::string_view job_json);

/// assign/heartbeat 200: {"success": true, "lease_expires_at": "<ts>", ...} -> the timestamp.
std::string parse_lease(std::string_view body);

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
