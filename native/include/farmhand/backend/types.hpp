// Records exchanged with the coordinator (docs/protocol.md, "The job object" and endpoints).
#pragma once

#include <string>
#include <vector>

namespace farmhand::backend {

/// A pending job offered by GET /api/v1/jobs/available. Only the fields a worker needs;
/// unknown extra fields of the job object are ignored.
struct JobOffer {
  std::string id;             // positive integer in JSON, kept as its decimal string
  std::string asset_cid;      // CID of the .blend
  std::string reward;         // decimal string, e.g. "1.50"
  std::vector<int> frames;    // empty = the scene's current frame
  std::string output_format;  // "PNG" (default when absent), "JPEG", "OPEN_EXR", or another
                              // format name (the engine fails it: unsupported_format)
};

/// Body of POST /api/v1/jobs/{id}/complete.
struct Completion {
  std::string result_cid;     // CID of the uploaded result
  std::string sha256;         // 64 lower-case hex (protocol.md "Conventions")
  double render_seconds = 0;  // wall time of the render only, seconds
  std::vector<int> frames;    // frames actually rendered
  std::string device;         // device class the frames were actually rendered with, e.g.
                              // "CPU" (a GPU worker that fell back); "" = not sent
  std::string blender;        // Blender version that rendered them, "4.2"; "" = not sent
};

}  // namespace farmhand::backend
