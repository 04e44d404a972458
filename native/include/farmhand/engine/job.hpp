// A job as the engine hands it to Blender.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace farmhand::engine {

struct Job {
  std::string id;                     // decimal string of the backend's integer id
  std::string asset_cid;              // CID of the .blend
  std::filesystem::path blend_path;   // verified and validated .blend on disk
  std::filesystem::path work_dir;     // work_dir/job-<id>/
  std::filesystem::path output_dir;   // work_dir/job-<id>/output/ (created, empty)
  std::vector<int> frames;            // empty = the scene's current frame
  std::string output_format = "PNG";  // "PNG", "JPEG" or "OPEN_EXR"
  std::string reward;                 // decimal string, e.g. "1.50"
  int blend_version = 0;              // from the file header: 304 = 3.4
  std::string scene;                  // the file's current scene (blend::BlockSummary::
                                      // current_scene), "" if unknown
};

}  // namespace farmhand::engine
