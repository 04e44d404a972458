// JSON mapping of coordinator replies (nlohmann::json, parsed without exceptions).
#include "farmhand/backend/replies.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>

#include "farmhand/error.hpp"

namespace farmhand::backend {
namespace {

using nlohmann::json;

// docs/protocol.md "Values from a backend".
constexpr std::size_t kMaxCidChars = 128;
constexpr std::size_t kMaxRewardChars = 64;
constexpr std::size_t kMaxChallengeChars = 1024;
constexpr std::size_t kMaxFrames = 10000;
constexpr std::int64_t kMaxFrame = 1048574;  // Blender's frame range (MAXFRAME)
constexpr double kMaxLeaseSeconds = 86400;

[[noreturn]] void malformed(const std::string& what) {
  throw Error(ErrorKind::kMalformedResponse,
              "the backend's reply " + what +
                  "; check the backend URL points at a Farmhand coordinator of a matching "
                  "protocol version (docs/protocol.md)");
}

json parse_object(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) malformed("is not valid JSON");
  if (!j.is_object()) malformed("is not a JSON object");
  return j;
}

const json& require(const json& obj, const char* field) {
  const auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) malformed(std::string("lacks the field \"") + field + "\"");
  return *it;
}

std::string require_string(const json& obj, const char* field, bool non_empty = true) {
  const json& v = require(obj, field);
  if (!v.is_string()) malformed(std::string("has a non-string \"") + field + "\"");
  auto s = v.get<std::string>();
  if (non_empty && s.empty()) malformed(std::string("has an empty \"") + field + "\"");
  return s;
}

void check_success(const json& obj) {
  const auto it = obj.find("success");
  if (it == obj.end()) return;
  if (!it->is_boolean()) malformed("has a non-boolean \"success\"");
  if (!it->get<bool>()) malformed("says success: false with HTTP 200");
}

JobOffer offer_from(const json& job) {
  if (!job.is_object()) malformed("lists a job that is not a JSON object");
  JobOffer offer;
  const json& id = require(job, "id");
  if (id.is_number_unsigned() && id.get<std::uint64_t>() > 0 &&
      id.get<std::uint64_t>() <=
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    offer.id = std::to_string(id.get<std::uint64_t>());
  } else if (id.is_number_integer() && !id.is_number_unsigned() && id.get<std::int64_t>() > 0) {
    offer.id = std::to_string(id.get<std::int64_t>());
  } else {
    malformed("has a job \"id\" that is not a positive integer");
  }
  offer.asset_cid = require_string(job, "asset_cid");
  if (offer.asset_cid.size() > kMaxCidChars) {
    malformed("has a job \"asset_cid\" of " + std::to_string(offer.asset_cid.size()) +
              " characters (at most " + std::to_string(kMaxCidChars) + ")");
  }
  // A seed backend may send the reward as a JSON number, or none; ours sends a string.
  if (const auto r = job.find("reward"); r != job.end() && !r->is_null()) {
    if (r->is_string()) {
      offer.reward = r->get<std::string>();
    } else if (r->is_number()) {
      offer.reward = r->dump();
    } else {
      malformed("has a job \"reward\" that is neither a string nor a number");
    }
    if (offer.reward.size() > kMaxRewardChars) {
      malformed("has a job \"reward\" of " + std::to_string(offer.reward.size()) +
                " characters (at most " + std::to_string(kMaxRewardChars) + ")");
    }
  }
  if (const auto f = job.find("frames"); f != job.end() && !f->is_null()) {
    if (!f->is_array()) malformed("has job \"frames\" that is not a list");
    if (f->size() > kMaxFrames) {
      malformed("lists " + std::to_string(f->size()) + " job frames (at most " +
                std::to_string(kMaxFrames) + ")");
    }
    offer.frames.reserve(f->size());
    for (const json& frame : *f) {
      if (!frame.is_number_integer()) malformed("has a job frame that is not an integer");
      const bool fits =
          frame.is_number_unsigned()
              ? frame.get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxFrame)
              : frame.get<std::int64_t>() >= -kMaxFrame && frame.get<std::int64_t>() <= kMaxFrame;
      if (!fits) {
        malformed("has a job frame out of range (Blender's frames are -1048574..1048574)");
      }
      offer.frames.push_back(static_cast<int>(frame.get<std::int64_t>()));
    }
  }
  offer.output_format = "PNG";
  if (const auto o = job.find("output_format"); o != job.end() && !o->is_null()) {
    if (!o->is_string()) malformed("has a non-string job \"output_format\"");
    offer.output_format = o->get<std::string>();
    // A name, not necessarily one of ours: the engine fails a job asking for a format outside
    // PNG, JPEG, OPEN_EXR as unsupported_format (docs/protocol.md "Values from a backend").
    const bool name =
        !offer.output_format.empty() && offer.output_format.size() <= 32 &&
        std::all_of(offer.output_format.begin(), offer.output_format.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        });
    if (!name)
      malformed("has a job \"output_format\" that is not a format name (1 to 32 of A-Z, 0-9, _)");
  }
  return offer;
}

}  // namespace

std::string parse_challenge(std::string_view body) {
  std::string challenge = require_string(parse_object(body), "challenge");
  if (challenge.size() > kMaxChallengeChars) {
    malformed("has a \"challenge\" of " + std::to_string(challenge.size()) +
              " characters (at most " + std::to_string(kMaxChallengeChars) + ")");
  }
  return challenge;
}

TokenReply parse_token_reply(std::string_view body) {
  const json j = parse_object(body);
  TokenReply reply;
  const char* name = j.contains("access_token") ? "access_token" : "token";
  reply.token = require_string(j, name);
  // The token goes verbatim into an Authorization header: only the characters a JWT can
  // hold (RFC 7515 base64url segments and dots), so a hostile reply cannot inject headers.
  const bool header_safe =
      !reply.token.empty() && reply.token.size() <= 8192 &&
      std::all_of(reply.token.begin(), reply.token.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '=';
      });
  if (!header_safe) malformed("has a token that is not a JWT (base64url and dots, <= 8 KiB)");
  // Optional: a seed-literal backend answers {"access_token"} only (protocol.md).
  if (const auto ttl = j.find("expires_in"); ttl != j.end() && !ttl->is_null()) {
    if (!ttl->is_number_integer() || ttl->get<std::int64_t>() <= 0) {
      malformed("has \"expires_in\" that is not a positive integer");
    }
    reply.expires_in = ttl->get<std::int64_t>();
  }
  return reply;
}

std::vector<JobOffer> parse_offers(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) malformed("is not valid JSON");
  const json* list = &j;
  if (j.is_object()) list = &require(j, "jobs");
  if (!list->is_array()) malformed("is not a list of jobs");
  std::vector<JobOffer> offers;
  offers.reserve(list->size());
  for (const json& job : *list) offers.push_back(offer_from(job));
  return offers;
}

JobOffer parse_offer_json(std::string_view job_json) {
  json j = json::parse(job_json.begin(), job_json.end(), nullptr, false);
  if (j.is_discarded()) malformed("is not valid JSON");
  return offer_from(j);
}

Lease parse_lease(std::string_view body) {
  const json j = parse_object(body);
  check_success(j);
  Lease lease;
  if (const auto at = j.find("lease_expires_at"); at != j.end() && !at->is_null()) {
    if (!at->is_string() || at->get<std::string>().size() > 64) {
      malformed("has a \"lease_expires_at\" that is not a timestamp string");
    }
    lease.expires_at = at->get<std::string>();
  }
  if (const auto s = j.find("lease_seconds"); s != j.end() && !s->is_null()) {
    const double v = s->is_number() ? s->get<double>() : -1;
    if (!(v > 0 && v <= kMaxLeaseSeconds)) {
      malformed("has \"lease_seconds\" that is not a number in (0, 86400]");
    }
    lease.seconds = v;
  }
  return lease;
}

void parse_success(std::string_view body) {
  const json j = parse_object(body);
  const json& s = require(j, "success");
  (void)s;
  check_success(j);
}

ErrorReply parse_error_reply(std::string_view body) {
  ErrorReply out;
  const json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return out;
  const auto e = j.find("error");
  if (e == j.end()) return out;
  if (e->is_string()) {
    out.message = e->get<std::string>();
    return out;
  }
  if (!e->is_object()) return out;
  if (const auto c = e->find("code"); c != e->end() && c->is_string()) out.code = *c;
  if (const auto m = e->find("message"); m != e->end() && m->is_string()) out.message = *m;
  return out;
}

}  // namespace farmhand::backend
