// farmhand_core.Engine and farmhand_core.Job (farmhand/engine/engine.hpp).
//
// Blocking calls (next_job, stop) release the GIL; the others only touch in-memory state.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <nlohmann/json.hpp>

#include "background_call.hpp"
#include "bind.hpp"
#include "farmhand/engine/engine.hpp"
#include "farmhand/engine/real_ports.hpp"
#include "farmhand/error.hpp"

namespace py = pybind11;

namespace farmhand::python {
namespace {

using engine::Engine;
using engine::Job;

// Python value -> JSON for Engine(config): None, bool, int, float, str, os.PathLike, lists.
nlohmann::json to_json(const py::handle& v, const std::string& key) {
  if (v.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>();
  if (py::isinstance<py::int_>(v)) {
    try {
      return v.cast<std::int64_t>();
    } catch (const py::cast_error&) {  // beyond 64 bits: Config would refuse it anyway
      throw Error(ErrorKind::kInvalidArgument, "engine config: '" + key + "' holds " +
                                                   py::str(v).cast<std::string>() +
                                                   ", an integer out of range (more than 64 bits)");
    }
  }
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::hasattr(v, "__fspath__")) {
    return py::module_::import("os").attr("fspath")(v).cast<std::string>();
  }
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    auto arr = nlohmann::json::array();
    for (const auto& item : v) arr.push_back(to_json(item, key));
    return arr;
  }
  throw Error(ErrorKind::kInvalidArgument,
              "engine config: '" + key + "' has an unsupported type " +
                  py::str(py::type::of(v).attr("__name__")).cast<std::string>());
}

engine::Config config_from(const py::dict& d) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : d) {
    if (!py::isinstance<py::str>(k)) {
      throw Error(ErrorKind::kInvalidArgument, "engine config keys must be strings");
    }
    const auto key = k.cast<std::string>();
    j[key] = to_json(v, key);
  }
  return engine::Config::from_json(j);
}

// A Job object or its id string.
std::string job_id(const py::handle& job) {
  if (py::isinstance<py::str>(job)) return job.cast<std::string>();
  if (py::isinstance<Job>(job)) return job.cast<const Job&>().id;
  throw Error(ErrorKind::kInvalidArgument, "expected a farmhand_core.Job (or a job id string)");
}

py::dict status_dict(const engine::Status& s) {
  py::dict d;
  d["state"] = s.state;
  d["job_id"] = s.job_id.empty() ? py::object(py::none()) : py::object(py::str(s.job_id));
  d["progress"] = s.progress;
  d["message"] = s.message;
  d["bytes_done"] = s.bytes_done;
  d["bytes_total"] = s.bytes_total;
  d["jobs_done"] = s.jobs_done;
  d["jobs_failed"] = s.jobs_failed;
  d["last_error"] = s.last_error;
  d["worker_address"] = s.worker_address;
  d["sandbox"] = s.sandbox;
  d["lease_lost_job_id"] = s.lease_lost_job_id.empty() ? py::object(py::none())
                                                       : py::object(py::str(s.lease_lost_job_id));
  return d;
}

}  // namespace

void bind_engine(py::module_& m) {
  py::class_<Job>(m, "Job", "A job handed to Blender by Engine.next_job(). Read-only.")
      .def_readonly("id", &Job::id, "Job id (decimal string).")
      .def_readonly("asset_cid", &Job::asset_cid, "CID of the .blend.")
      .def_property_readonly(
          "blend_path", [](const Job& j) { return j.blend_path.string(); },
          "Verified, header-validated .blend on disk (str).")
      .def_property_readonly(
          "work_dir", [](const Job& j) { return j.work_dir.string(); }, "work_dir/job-<id> (str).")
      .def_property_readonly(
          "output_dir", [](const Job& j) { return j.output_dir.string(); },
          "Empty directory for the rendered frames (str).")
      .def_readonly("frames", &Job::frames, "Frames to render; empty = the scene's current frame.")
      .def_readonly("output_format", &Job::output_format, "'PNG', 'JPEG' or 'OPEN_EXR'.")
      .def_readonly("reward", &Job::reward, "Decimal string, e.g. '1.50'.")
      .def_readonly("blend_version", &Job::blend_version,
                    "Blender version that saved the file (304 = 3.4).")
      .def_readonly("scene", &Job::scene,
                    "Name of the scene the file was saved with (its current scene, the one "
                    "Blender opens; FileGlobal.curscene); '' if the file does not say.")
      .def("__repr__", [](const Job& j) {
        return "<farmhand_core.Job " + j.id + " " + j.asset_cid + " " + j.output_format + ">";
      });

  py::class_<Engine>(m, "Engine",
                     "The job engine: threads that claim, fetch, validate, heartbeat, upload and "
                     "submit jobs; Blender's main thread only renders (docs/engine.md).")
      .def(py::init([](const py::dict& config) {
             auto c = config_from(config);
             auto ports = engine::make_real_ports(c);
             return std::make_unique<Engine>(std::move(c), std::move(ports));
           }),
           py::arg("config"),
           "config: dict (docs/engine.md). Unknown key, wrong type or missing required key -> "
           "InvalidArgument; unusable key file -> KeyFileError.")
      .def_property_readonly("worker_address", &Engine::worker_address)
      .def("start", &Engine::start, "Spawns the engine threads.")
      .def(
          "next_job",
          [](Engine& e, double timeout_s) -> py::object {
            std::optional<Job> job;
            {
              py::gil_scoped_release release;
              job = e.next_job(timeout_s);
            }
            if (!job) return py::none();
            return py::cast(std::move(*job));
          },
          py::arg("timeout_s"),
          "Waits up to timeout_s seconds (GIL released) for a verified job; None if none.")
      .def(
          "progress",
          [](Engine& e, const py::object& job, double fraction, const std::string& message) {
            const auto id = job_id(job);
            const py::gil_scoped_release release;  // the engine's lock may be busy
            e.progress(id, fraction, message);
          },
          py::arg("job"), py::arg("fraction"), py::arg("message") = "")
      .def(
          "finish",
          [](Engine& e, const py::object& job, const std::vector<std::filesystem::path>& outputs,
             double render_seconds, const std::string& device) {
            const auto id = job_id(job);
            const py::gil_scoped_release release;
            e.finish(id, outputs, render_seconds, device);
          },
          py::arg("job"), py::arg("output_paths"), py::arg("render_seconds"),
          py::arg("device") = "",
          "Non-blocking: upload + /complete happen on the engine thread. device: the device "
          "class the frames were actually rendered with ('CPU' for a GPU worker that fell "
          "back), '' = the config's device_class; sent at /complete with the Blender version.")
      .def(
          "fail",
          [](Engine& e, const py::object& job, const std::string& error,
             const std::string& log_tail, bool retryable, const std::string& code) {
            const auto id = job_id(job);
            const py::gil_scoped_release release;
            e.fail(id, error, log_tail, retryable, code);
          },
          py::arg("job"), py::arg("error"), py::arg("log_tail") = "", py::arg("retryable") = true,
          py::arg("code") = "",
          "Non-blocking: /fail with the error (starting 'refused: ' or 'failed: '; 'failed: ' "
          "is added otherwise), the log tail and the failure code (docs/protocol.md).")
      .def(
          "release",
          [](Engine& e, const py::object& job, const std::string& reason) {
            const auto id = job_id(job);
            const py::gil_scoped_release release;
            e.release(id, reason);
          },
          py::arg("job"), py::arg("reason") = "released by the worker",
          "Non-blocking: /release (hand the job back untouched).")
      .def(
          "job_cancelled",
          [](const Engine& e, const py::object& job) {
            const auto id = job_id(job);
            const py::gil_scoped_release release;
            return e.job_cancelled(id);
          },
          py::arg("job"), "True once the job's lease was lost: stop rendering it.")
      .def(
          "status",
          [](const Engine& e) {
            engine::Status s;
            {
              const py::gil_scoped_release release;
              s = e.status();
            }
            return status_dict(s);
          },
          "{state, job_id, progress, message, bytes_done, bytes_total, jobs_done, jobs_failed, "
          "last_error, worker_address, lease_lost_job_id, sandbox}")
      .def("stop", &Engine::stop, py::arg("graceful") = true, py::arg("timeout_s") = 30.0,
           py::call_guard<py::gil_scoped_release>(),
           "Stops the threads (GIL released). graceful: pending uploads/submits complete and "
           "jobs not yet rendered are released; otherwise everything held is released now.")
      .def(
          "stop_in_background",
          [](Engine& e, bool graceful, double timeout_s) {
            return std::make_unique<BackgroundCall>(
                [&e, graceful, timeout_s](const std::atomic<bool>& /*cancel*/) {
                  e.stop(graceful, timeout_s);
                  return std::string();
                },
                BackgroundCall::OnDrop::kWait);
          },
          py::arg("graceful") = true, py::arg("timeout_s") = 30.0, py::keep_alive<0, 1>(),
          "stop() on a C++ thread, which never runs Python: returns its BackgroundCall at "
          "once (the engine lives at least as long; dropping the call waits for the stop). "
          "Blender's GUI polls `done` instead of waiting in a Python thread (docs/addon.md).")
      .def("__enter__", [](Engine& e) -> Engine& { return e; })
      .def("__exit__", [](Engine& e, const py::args&) {
        py::gil_scoped_release release;
        e.stop(true, 30.0);
      });
}

}  // namespace farmhand::python
