// farmhand_core.BackendClient and JobOffer (farmhand/backend/client.hpp, docs/protocol.md).
// Every network call releases the GIL for its whole duration.
#include <pybind11/stl.h>

#include <memory>
#include <variant>

#include "background_call.hpp"
#include "bind.hpp"
#include "farmhand/backend/client.hpp"
#include "farmhand/error.hpp"

namespace py = pybind11;

namespace farmhand::python {
namespace {

using JobId = std::variant<std::string, long long>;

// Job ids are decimal strings in the core; Python callers may pass an int too.
std::string job_id(const JobId& id) {
  if (const auto* s = std::get_if<std::string>(&id)) return *s;
  const long long n = std::get<long long>(id);
  if (n <= 0) throw Error(ErrorKind::kInvalidArgument, "job id must be a positive integer");
  return std::to_string(n);
}

std::string repr(const backend::JobOffer& o) {
  std::string frames = "[";
  for (size_t i = 0; i < o.frames.size(); ++i) {
    if (i == 8) {
      frames += ", ...";
      break;
    }
    frames += (i != 0 ? ", " : "") + std::to_string(o.frames[i]);
  }
  frames += "]";
  return "<JobOffer id=" + o.id + " asset_cid=" + o.asset_cid + " reward=" + o.reward +
         " frames=" + frames + " output_format=" + o.output_format + ">";
}

}  // namespace

void bind_backend(py::module_& m) {
  using backend::Client;
  using backend::JobOffer;
  using Release = py::call_guard<py::gil_scoped_release>;

  m.attr("AUTH_RETRY_SECONDS") = backend::kAuthRetrySeconds;

  py::class_<JobOffer>(m, "JobOffer", "A pending job offered by the backend (read-only).")
      .def_readonly("id", &JobOffer::id, "Job id as a decimal string, e.g. \"7\".")
      .def_readonly("asset_cid", &JobOffer::asset_cid, "CID of the .blend to render.")
      .def_readonly("reward", &JobOffer::reward, "Decimal string, e.g. \"1.50\".")
      .def_readonly("frames", &JobOffer::frames,
                    "Frames to render (list of int); empty = the scene's current frame.")
      .def_readonly("output_format", &JobOffer::output_format,
                    "\"PNG\" (default), \"JPEG\" or \"OPEN_EXR\"; another format name (1-32 of "
                    "A-Z, 0-9, _) from a backend of another implementation, which the engine "
                    "fails as unsupported_format.")
      .def("__repr__", &repr);

  py::class_<Client, std::shared_ptr<Client>>(
      m, "BackendClient",
      "Client of the coordinator API (docs/protocol.md), authenticated with the worker's "
      "Identity by a signed challenge. Thread-safe. Every call releases the GIL. Failures raise "
      "BackendError subclasses: NetworkError, Timeout, HttpStatusError (.http_status), "
      "MalformedResponse, AuthRejected (wait AUTH_RETRY_SECONDS, then retry), LeaseLost.")
      .def(py::init([](std::string base_url, std::shared_ptr<identity::Identity> id) {
             return std::make_shared<Client>(std::move(base_url), std::move(id));
           }),
           py::arg("base_url"), py::arg("identity"),
           "base_url: e.g. 'http://127.0.0.1:8000' (http or https; TLS is always verified).")
      .def_property_readonly("base_url", &Client::base_url)
      .def_property_readonly("address", &Client::address, "The worker address it signs in as.")
      .def("ensure_authenticated", &Client::ensure_authenticated, Release(),
           "Signs in (challenge + Ed25519 signature) unless a token is valid for a while yet. "
           "Raises AuthRejected, NetworkError, Timeout, HttpStatusError, MalformedResponse.")
      .def(
          "get_headers",
          [](Client& c) {
            std::vector<std::pair<std::string, std::string>> headers;
            {
              py::gil_scoped_release release;
              headers = c.auth_headers();
            }
            py::dict d;
            for (const auto& [k, v] : headers) d[py::str(k)] = v;
            return d;
          },
          "{'Authorization': 'Bearer <token>'}, signing in first when needed.")
      .def("available", &Client::available, py::arg("wait_s") = 0, Release(),
           "Pending jobs (list of JobOffer). wait_s > 0: long-poll up to that many seconds "
           "for a job to appear (the backend caps it, default 30).")
      .def(
          "assign",
          [](Client& c, const JobId& id) -> std::optional<std::string> {
            const auto lease = c.assign(job_id(id));
            if (!lease) return std::nullopt;
            return lease->expires_at;
          },
          py::arg("job_id"), Release(),
          "Claims the job: lease_expires_at (ISO 8601 str; '' from a seed-literal backend that "
          "sends none), or None when another worker got it or it is no longer pending "
          "(HTTP 409).")
      .def(
          "heartbeat",
          [](Client& c, const JobId& id, double progress, const std::string& message) {
            return c.heartbeat(job_id(id), progress, message).expires_at;
          },
          py::arg("job_id"), py::arg("progress") = 0.0, py::arg("message") = "", Release(),
          "Extends the lease; progress 0..1. Returns the new lease_expires_at. Raises LeaseLost "
          "(HTTP 409): abandon the job; NotSupported when the backend has no heartbeat.")
      .def(
          "worker_me_in_background",
          [](const std::shared_ptr<Client>& c, std::size_t max_reply_bytes) {
            return std::make_unique<BackgroundCall>(
                [c, max_reply_bytes](const std::atomic<bool>& cancel) {
                  return c->worker_me(max_reply_bytes, &cancel);
                },
                BackgroundCall::OnDrop::kCancel);
          },
          py::arg("max_reply_bytes") = 65536,
          "Starts GET /api/v1/workers/me (signing in first when needed, no retries) on a C++ "
          "thread and returns its BackgroundCall at once; result(): the reply body (bytes, "
          "at most max_reply_bytes; unchecked: the caller parses it). Dropping the call "
          "cancels the request without waiting. Raises from result(): "
          "NotSupported (no such endpoint), HttpStatusError, MalformedResponse (too long), "
          "AuthRejected, NetworkError, Timeout.")
      .def("probe_health", &Client::probe_health, Release(),
           "GET /api/v1/health once (2 s timeout, no retry): True when the backend answered "
           "over HTTP at all, False when unreachable.")
      .def(
          "complete",
          [](Client& c, const JobId& id, const std::string& result_cid, const std::string& sha256,
             double render_seconds, const std::vector<int>& frames, const std::string& device,
             const std::string& blender) {
            c.complete(job_id(id), backend::Completion{result_cid, sha256, render_seconds, frames,
                                                       device, blender});
          },
          py::arg("job_id"), py::arg("result_cid"), py::arg("sha256"), py::arg("render_seconds"),
          py::arg("frames") = std::vector<int>{}, py::arg("device") = "", py::arg("blender") = "",
          Release(),
          "Submits the result (sha256: 64 lower-case hex; render_seconds: wall time of the "
          "render; device/blender: what the frames were actually rendered with, '' = not "
          "sent). Raises LeaseLost (HTTP 409) when the job is no longer ours.")
      .def(
          "fail",
          [](Client& c, const JobId& id, const std::string& error, bool retryable,
             const std::string& log_tail,
             const std::string& code) { c.fail(job_id(id), error, retryable, log_tail, code); },
          py::arg("job_id"), py::arg("error"), py::arg("retryable") = true,
          py::arg("log_tail") = "", py::arg("code") = "", Release(),
          "Reports a failed attempt. retryable=False only when the job itself is broken. "
          "Raises LeaseLost (HTTP 409) when the job is no longer ours.")
      .def(
          "release",
          [](Client& c, const JobId& id, const std::string& reason) {
            c.release(job_id(id), reason);
          },
          py::arg("job_id"), py::arg("reason") = "", Release(),
          "Hands a claimed job back untouched (no attempt counted). Raises LeaseLost (409).")
      .def("__repr__", [](const Client& c) {
        return "<farmhand_core.BackendClient " + c.base_url() + " as " + c.address() + ">";
      });
}

}  // namespace farmhand::python
