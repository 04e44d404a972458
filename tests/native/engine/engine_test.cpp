// The engine's state machine against stub ports: StubFarm stands in for the coordinator and
// IPFS to produce faults on demand (a lost lease at a chosen moment, an upload API that
// fails, a submission that fails once). The real services are exercised in tests/engine/.
#include "farmhand/engine/engine.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "../blend/blend_builder.hpp"
#include "farmhand/engine/journal.hpp"
#include "farmhand/error.hpp"

namespace farmhand::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Call {
  std::string what;  // "assign", "fail", "release", "complete", "heartbeat"
  std::string id;
  std::string text;  // fail: error; release: reason; complete: result CID
  bool retryable = false;
  std::string extra;            // fail: log tail; complete: sha256
  std::string code{};           // fail: failure code
  std::string rendered_with{};  // complete: device + " " + blender
};

// Shared by every StubBackend/StubStorage an engine makes (one per thread).
struct StubFarm {
  std::mutex mu;
  std::vector<Offer> pending;
  std::map<std::string, std::string> blobs;  // cid -> bytes served
  std::vector<Call> calls;
  std::set<std::string> lose_lease;   // heartbeats for these ids answer kLeaseLost
  int auth_failures = 0;              // authenticate() throws kAuthRejected this many times
  int complete_failures = 0;          // complete() throws kNetwork this many times
  int poll_failures = 0;              // available() throws kNetwork this many times
  double lease_seconds = 0;           // what assign/heartbeat report (0: not said)
  bool no_heartbeat = false;          // heartbeat() throws kNotSupported (a seed backend)
  bool hold_assign_reply = false;     // assign() commits, then waits while this is true (a
                                      // slow reply); like the real client it ends with
                                      // kCancelled if its cancel flag is set meanwhile
  std::set<std::size_t> broken_apis;  // upload through these API indexes throws kNetwork
  std::vector<std::size_t> upload_apis_used;
  int auth_calls = 0;

  void post(const std::string& id, const std::string& cid, std::vector<int> frames = {}) {
    const std::lock_guard lock(mu);
    pending.push_back({id, cid, "1.50", std::move(frames), "PNG"});
  }
  std::vector<Call> calls_of(const std::string& what) {
    const std::lock_guard lock(mu);
    std::vector<Call> out;
    for (const auto& c : calls) {
      if (c.what == what) out.push_back(c);
    }
    return out;
  }
};

class StubBackend : public Backend {
 public:
  explicit StubBackend(std::shared_ptr<StubFarm> f, const std::atomic<bool>* cancel = nullptr)
      : f_(std::move(f)), cancel_(cancel) {}
  void authenticate() override {
    const std::lock_guard lock(f_->mu);
    f_->auth_calls += 1;
    if (f_->auth_failures > 0) {
      f_->auth_failures -= 1;
      throw Error(ErrorKind::kAuthRejected, "stub: signature rejected");
    }
  }
  std::vector<Offer> available(int wait_s) override {
    {
      const std::lock_guard lock(f_->mu);
      if (f_->poll_failures > 0) {
        f_->poll_failures -= 1;
        throw Error(ErrorKind::kNetwork, "stub: connection refused");
      }
    }
    for (int i = 0; i < std::max(wait_s, 1) * 20; ++i) {
      // Like the real client: stop() cancels a long-poll in flight.
      if (cancel_ != nullptr && cancel_->load())
        throw Error(ErrorKind::kCancelled, "stub: cancelled");
      {
        const std::lock_guard lock(f_->mu);
        if (!f_->pending.empty()) return f_->pending;
      }
      std::this_thread::sleep_for(50ms);
    }
    return {};
  }
  Claim assign(const std::string& id) override {
    {
      const std::lock_guard lock(f_->mu);
      f_->calls.push_back({"assign", id, "", false, ""});
      auto it = std::find_if(f_->pending.begin(), f_->pending.end(),
                             [&](const Offer& o) { return o.id == id; });
      if (it == f_->pending.end()) return {};
      f_->pending.erase(it);  // committed, whether or not the reply is seen
    }
    while (true) {
      {
        const std::lock_guard lock(f_->mu);
        if (!f_->hold_assign_reply) return {true, f_->lease_seconds};
      }
      if (cancel_ != nullptr && cancel_->load()) {
        throw Error(ErrorKind::kCancelled, "stub: assign cancelled before its reply");
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  double heartbeat(const std::string& id, double progress, const std::string& message) override {
    const std::lock_guard lock(f_->mu);
    f_->calls.push_back({"heartbeat", id, message, false, std::to_string(progress)});
    if (f_->no_heartbeat) throw Error(ErrorKind::kNotSupported, "stub: 404 Not Found", 404);
    if (f_->lose_lease.count(id) != 0U) {
      throw Error(ErrorKind::kLeaseLost, "stub: lease lost", 409);
    }
    return f_->lease_seconds;
  }
  bool probe_health() override {
    const std::lock_guard lock(f_->mu);
    f_->calls.push_back({"probe", "", "", false, ""});
    return f_->complete_failures == 0 && f_->poll_failures == 0;
  }
  void complete(const std::string& id, const Submission& s) override {
    const std::lock_guard lock(f_->mu);
    if (f_->complete_failures > 0) {
      f_->complete_failures -= 1;
      f_->calls.push_back({"complete-failed", id, s.result_cid, false, ""});
      throw Error(ErrorKind::kNetwork, "stub: connection reset");
    }
    f_->calls.push_back(
        {"complete", id, s.result_cid, false, s.sha256, "", s.device + " " + s.blender});
  }
  void fail(const std::string& id, const std::string& error, bool retryable,
            const std::string& log_tail, const std::string& code) override {
    const std::lock_guard lock(f_->mu);
    f_->calls.push_back({"fail", id, error, retryable, log_tail, code});
  }
  void release(const std::string& id, const std::string& reason) override {
    const std::lock_guard lock(f_->mu);
    f_->calls.push_back({"release", id, reason, false, ""});
  }

 private:
  std::shared_ptr<StubFarm> f_;
  const std::atomic<bool>* cancel_;
};

class StubStorage : public Storage {
 public:
  explicit StubStorage(std::shared_ptr<StubFarm> f) : f_(std::move(f)) {}
  fs::path download(const std::string& cid, const fs::path& dest, const std::string& name,
                    const TransferProgress& progress, const std::atomic<bool>*) override {
    std::string bytes;
    {
      const std::lock_guard lock(f_->mu);
      auto it = f_->blobs.find(cid);
      if (it == f_->blobs.end()) throw Error(ErrorKind::kNotFound, "stub: nobody serves " + cid);
      if (it->second == "ENOSPC") {  // what PartialFile throws when the disk is full
        throw Error(ErrorKind::kIo, "cannot write " +
                                        (dest / ".scene.blend.partial-Ab12Cd").string() +
                                        ": No space left on device");
      }
      bytes = it->second;
    }
    std::ofstream(dest / name, std::ios::binary) << bytes;
    progress(bytes.size(), bytes.size());
    return dest / name;
  }
  std::string cid_of(const fs::path& p) override {
    return "stubcid-" + p.filename().string() + "-" +
           std::to_string(fs::is_directory(p) ? 0 : fs::file_size(p));
  }
  std::size_t api_count() const override { return 2; }
  std::string upload(const fs::path& p, std::size_t api) override {
    {
      const std::lock_guard lock(f_->mu);
      f_->upload_apis_used.push_back(api);
      if (f_->broken_apis.count(api) != 0U) throw Error(ErrorKind::kNetwork, "stub: API down");
    }
    return cid_of(p);
  }

 private:
  std::shared_ptr<StubFarm> f_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("farmhand-engine-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    farm_ = std::make_shared<StubFarm>();
    farm_->blobs["QmGood"] = blend::testing::minimal_blend("BLENDER-v304");
    farm_->blobs["QmNew"] = blend::testing::minimal_blend("BLENDER17-01v0500");
    config_.backend_url = "http://127.0.0.1:9";
    config_.key_file = dir_ / "key";
    config_.work_dir = dir_ / "work";
    config_.blender_version = 304;
    config_.poll_wait_s = 1;
    config_.heartbeat_interval_s = 0.1;
    config_.auth_retry_s = 0.05;
    config_.network_retry_s = 0.05;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Engine> make() {
    Ports p;
    p.worker_address = "0x" + std::string(64, 'a');
    p.make_backend = [f = farm_](const std::atomic<bool>* cancel) {
      return std::make_unique<StubBackend>(f, cancel);
    };
    p.make_storage = [f = farm_] { return std::make_unique<StubStorage>(f); };
    return std::make_unique<Engine>(config_, std::move(p));
  }

  // Starts an engine on the jobs posted so far and returns it with the first job it handed
  // to Blender; throws (failing the test) when none reached Blender within 5 s.
  std::pair<std::unique_ptr<Engine>, Job> rendering() {
    auto engine = make();
    engine->start();
    auto job = engine->next_job(5);
    if (!job) throw std::runtime_error("no job reached Blender within 5 s");
    return {std::move(engine), *job};
  }

  // Posts job `id` (QmGood), then rendering().
  std::pair<std::unique_ptr<Engine>, Job> rendering(const std::string& id) {
    farm_->post(id, "QmGood");
    return rendering();
  }

  // Writes `bytes` as the rendering `job`'s one frame f.png and hands it over: finish().
  static void finish_frame(Engine& engine, const Job& job, const std::string& bytes = "x",
                           double render_seconds = 1, const std::string& device = {}) {
    std::ofstream(job.output_dir / "f.png") << bytes;
    engine.finish(job.id, {job.output_dir / "f.png"}, render_seconds, device);
  }

  // Polls `pred` for up to 5 s.
  template <typename Pred>
  static bool eventually(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  fs::path dir_;
  std::shared_ptr<StubFarm> farm_;
  Config config_;
};

TEST_F(EngineTest, JobFlowsFromOfferToCompleteWithResultCidAndHash) {
  farm_->post("7", "QmGood", {1});
  auto started = rendering();  // named, not bound: clang 14 cannot capture bindings
  auto& engine = started.first;
  auto& job = started.second;
  EXPECT_EQ(job.id, "7");
  EXPECT_EQ(job.blend_version, 304);
  EXPECT_EQ(job.frames, std::vector<int>{1});
  EXPECT_EQ(fs::file_size(job.blend_path), farm_->blobs["QmGood"].size());
  EXPECT_EQ(engine->status().state, "rendering");
  std::ofstream(job.output_dir / "frame_0001.png") << "abc";
  engine->finish(job.id, {job.output_dir / "frame_0001.png"}, 1.5);
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("complete").empty(); }));
  const auto c = farm_->calls_of("complete").at(0);
  EXPECT_EQ(c.text, "stubcid-frame_0001.png-3");
  EXPECT_EQ(c.extra, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(c.rendered_with, " 3.4");  // no device_class configured: none said
  ASSERT_TRUE(eventually([&] { return engine->status().jobs_done == 1; }));
  EXPECT_FALSE(fs::exists(job.work_dir));  // successful job dirs are removed
  engine->stop(true, 5);
  EXPECT_TRUE(Journal(config_.work_dir / "journal.json").load().empty());
}

TEST_F(EngineTest, QueuedAndRenderingJobsAreHeartbeatedWithProgress) {
  auto [engine, job] = rendering("7");
  engine->progress(job.id, 0.25, "frame 1/4");
  ASSERT_TRUE(eventually([&] {
    for (const auto& c : farm_->calls_of("heartbeat")) {
      if (c.id == "7" && c.text == "frame 1/4") return true;
    }
    return false;
  }));
  EXPECT_DOUBLE_EQ(engine->status().progress, 0.25);
  engine->stop(false, 5);
}

TEST_F(EngineTest, DownloadFailureIsFailedRetryableAtOnceAndTheLoopGoesOn) {
  farm_->post("7", "QmNobodyServes");
  farm_->post("8", "QmGood");
  auto [engine, job] = rendering();
  EXPECT_EQ(job.id, "8");
  const auto fails = farm_->calls_of("fail");
  ASSERT_EQ(fails.size(), 1U);
  EXPECT_EQ(fails[0].id, "7");
  EXPECT_TRUE(fails[0].retryable);
  EXPECT_NE(fails[0].text.find("download failed: stub: nobody serves QmNobodyServes"),
            std::string::npos);
  EXPECT_NE(fails[0].extra.find("job 7: claimed"), std::string::npos);  // the worker.log tail
  EXPECT_TRUE(fs::exists(config_.work_dir / "job-7" / "FAILED"));       // kept for inspection
  EXPECT_EQ(engine->status().jobs_failed, 1);
  engine->stop(false, 5);
}

// A fault of the worker's own machine (docs/protocol.md "Failure codes": worker_error) is
// failed retryable for another worker, naming what went wrong here, without the work dir.
TEST_F(EngineTest, JobFileTheDiskCannotTakeIsWorkerErrorRetryableWithoutTheWorkDir) {
  farm_->blobs["QmFull"] = "ENOSPC";
  farm_->post("7", "QmFull");
  auto engine = make();
  engine->start();
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("fail").empty(); }));
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_EQ(f.code, "worker_error");
  EXPECT_TRUE(f.retryable);
  EXPECT_EQ(f.text,
            "failed: this worker cannot store the job file (cannot write "
            "<work>/job-7/.scene.blend.partial-Ab12Cd: No space left on device): a fault of "
            "this worker's machine, not of the job: another worker can take it; the worker's "
            "owner should free space in (or repair) its work dir");
  EXPECT_TRUE(farm_->calls_of("release").empty());
  engine->stop(false, 5);
}

TEST_F(EngineTest, FormatNoFarmhandWorkerWritesIsFailedNotRetryableWithoutDownloading) {
  {
    const std::lock_guard lock(farm_->mu);
    farm_->pending.push_back({"7", "QmNobodyServes", "1.50", {1}, "TIFF"});
  }
  farm_->post("8", "QmGood");
  auto [engine, job] = rendering();
  EXPECT_EQ(job.id, "8");  // the next job goes on
  const auto fails = farm_->calls_of("fail");
  ASSERT_EQ(fails.size(), 1U);
  EXPECT_EQ(fails[0].id, "7");
  EXPECT_EQ(fails[0].code, "unsupported_format");
  EXPECT_FALSE(fails[0].retryable);
  EXPECT_EQ(fails[0].text,
            "failed: this job asks for output format 'TIFF'; Farmhand workers write PNG, JPEG "
            "or OPEN_EXR: submit it again with one of those");  // not "download failed"
  engine->stop(false, 5);
}

TEST_F(EngineTest, JobDirThatCannotBeCreatedIsWorkerErrorNotARelease) {
  auto engine = make();
  engine->start();
  ASSERT_TRUE(eventually([&] { return farm_->auth_calls > 0; }));
  // the work dir replaced by a file: a real failure of create_directories (root can write
  // anywhere, so no permission bits are used). The engine may be writing its journal there
  // meanwhile (journal.json.tmp): retried until the file stands.
  ASSERT_TRUE(eventually([&] {
    std::error_code ec;
    fs::remove_all(config_.work_dir, ec);
    if (!ec) std::ofstream(config_.work_dir) << "not a dir";
    return fs::is_regular_file(config_.work_dir, ec);
  }));
  farm_->post("7", "QmGood");
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("fail").empty(); }));
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_EQ(f.code, "worker_error");
  EXPECT_TRUE(f.retryable);
  EXPECT_TRUE(
      f.text.starts_with("failed: this worker cannot create its dir for the job "
                         "(cannot create <work>/job-7: "))
      << f.text;
  EXPECT_EQ(f.text.find(dir_.string()), std::string::npos) << f.text;
  EXPECT_TRUE(farm_->calls_of("release").empty());
  engine->stop(false, 5);
}

TEST_F(EngineTest, NewerBlenderFileIsFailedNotRetryableNamingBothVersions) {
  farm_->post("7", "QmNew");
  auto engine = make();
  engine->start();
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("fail").empty(); }));
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_FALSE(f.retryable);
  EXPECT_NE(f.text.find("Blender 5.0 (version 500)"), std::string::npos) << f.text;
  EXPECT_NE(f.text.find("Blender 3.4 (version 304)"), std::string::npos) << f.text;
  EXPECT_FALSE(engine->next_job(0.1).has_value());
  engine->stop(false, 5);
}

TEST_F(EngineTest, LostLeaseMarksTheRenderingJobCancelledAndItsResultIsDiscarded) {
  auto started = rendering("7");  // named, not bound: clang 14 cannot capture bindings
  auto& engine = started.first;
  auto& job = started.second;
  EXPECT_FALSE(engine->job_cancelled("7"));
  {
    const std::lock_guard lock(farm_->mu);
    farm_->lose_lease.insert("7");
  }
  ASSERT_TRUE(eventually([&] { return engine->job_cancelled("7"); }));
  EXPECT_EQ(engine->status().lease_lost_job_id, "7");
  finish_frame(*engine, job);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(farm_->calls_of("complete").empty());
  engine->stop(true, 5);
  EXPECT_TRUE(farm_->calls_of("release").empty());  // nothing to hand back: not ours
}

TEST_F(EngineTest, JobWithLostLeaseThatBlenderAbandonsFreesItsSlot) {
  config_.prefetch = 0;
  auto started = rendering("7");  // named, not bound: clang 14 cannot capture bindings
  auto& engine = started.first;
  auto& job = started.second;
  {
    const std::lock_guard lock(farm_->mu);
    farm_->lose_lease.insert("7");
  }
  ASSERT_TRUE(eventually([&] { return engine->job_cancelled("7"); }));
  farm_->post("8", "QmGood");
  // Blender never calls finish/fail/release for 7; it just asks for more work.
  const auto next = engine->next_job(5);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->id, "8");
  EXPECT_TRUE(engine->job_cancelled("7"));
  EXPECT_NO_THROW(engine->release("7", "late"));  // a no-op for a job no longer ours
  // Removed by the service thread when it drops the job, which may come after 8 was handed
  // out on a loaded machine (seen in a full ctest run at load 21).
  EXPECT_TRUE(eventually([&] { return !fs::exists(job.work_dir); }));
  engine->stop(false, 5);
  EXPECT_EQ(farm_->calls_of("release").size(), 1U);  // only 8, at stop
}

TEST_F(EngineTest, StopDuringAClaimLetsItsReplyArriveThenReleasesTheJob) {
  {
    const std::lock_guard lock(farm_->mu);
    farm_->hold_assign_reply = true;
  }
  farm_->post("7", "QmGood");
  auto engine = make();
  engine->start();
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("assign").empty(); }));
  std::thread stopper([&] { engine->stop(true, 10); });
  std::this_thread::sleep_for(300ms);  // stop() has cancelled what it cancels
  EXPECT_EQ(engine->status().state, "stopping");
  {
    const std::lock_guard lock(farm_->mu);
    farm_->hold_assign_reply = false;  // the coordinator's 200 arrives
  }
  stopper.join();
  const auto releases = farm_->calls_of("release");
  ASSERT_EQ(releases.size(), 1U);
  EXPECT_EQ(releases[0].id, "7");
  EXPECT_EQ(releases[0].text, "worker stopping");
  EXPECT_TRUE(farm_->calls_of("fail").empty());
  EXPECT_FALSE(fs::exists(config_.work_dir / "job-7"));
  EXPECT_TRUE(Journal(config_.work_dir / "journal.json").load().empty());
}

TEST_F(EngineTest, UploadRetriesThenMovesToTheNextIpfsApi) {
  farm_->broken_apis = {0};
  auto [engine, job] = rendering("7");
  finish_frame(*engine, job);
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("complete").empty(); }));
  const std::lock_guard lock(farm_->mu);
  EXPECT_EQ(farm_->upload_apis_used, (std::vector<std::size_t>{0, 0, 1}));
}

TEST_F(EngineTest, UploadFailingOnEveryApiFailsTheJobRetryably) {
  farm_->broken_apis = {0, 1};
  auto [engine, job] = rendering("7");
  finish_frame(*engine, job);
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("fail").empty(); }));
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_TRUE(f.retryable);
  EXPECT_NE(f.text.find("upload failed on every IPFS API 3 times: stub: API down"),
            std::string::npos);
  engine->stop(true, 5);
}

TEST_F(EngineTest, SubmissionFailingOnceIsRetriedOnce) {
  farm_->complete_failures = 1;
  auto started = rendering("7");  // named, not bound: clang 14 cannot capture bindings
  auto& engine = started.first;
  auto& job = started.second;
  finish_frame(*engine, job);
  ASSERT_TRUE(eventually([&] { return engine->status().jobs_done == 1; }));
  EXPECT_EQ(farm_->calls_of("complete-failed").size(), 1U);
  EXPECT_EQ(farm_->calls_of("complete").size(), 1U);
  EXPECT_TRUE(farm_->calls_of("fail").empty());
}

TEST_F(EngineTest, SubmissionFailingThroughAnOutageIsRetriedUntilAcceptedNeverFailed) {
  farm_->complete_failures = 3;  // back-off 0.5, 1, 2 s at most
  auto [engine, job] = rendering("7");
  finish_frame(*engine, job);
  for (int i = 0; i < 150 && engine->status().jobs_done == 0; ++i)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(engine->status().jobs_done, 1);
  EXPECT_EQ(farm_->calls_of("complete-failed").size(), 3U);
  EXPECT_EQ(farm_->calls_of("complete").size(), 1U);
  EXPECT_TRUE(farm_->calls_of("fail").empty());
  engine->stop(true, 5);
}

TEST_F(EngineTest, CompleteSaysTheConfiguredDeviceUnlessFinishNamesAnotherUnknownRefused) {
  config_.device_class = "CUDA";
  auto [engine, job] = rendering("7");
  std::ofstream(job.output_dir / "f.png") << "x";
  try {
    engine->finish("7", {job.output_dir / "f.png"}, 1, "GPU");
    ADD_FAILURE() << "finish() took the device GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("got \"GPU\""), std::string::npos) << e.what();
  }
  engine->finish("7", {job.output_dir / "f.png"}, 1);
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("complete").empty(); }));
  EXPECT_EQ(farm_->calls_of("complete").at(0).rendered_with, "CUDA 3.4");
  engine->stop(true, 5);
}

TEST_F(EngineTest, AResultNotSubmittedAtStopIsSubmittedFromDiskByTheNextStart) {
  config_.device_class = "CUDA";
  farm_->complete_failures = 1000;  // the backend is down for the whole first run
  auto [engine, job] = rendering("7");
  finish_frame(*engine, job, "abc", 2.5, "CPU");  // a GPU worker fell back
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("complete-failed").empty(); }));
  engine->stop(true, 5);
  engine.reset();
  const auto kept = Journal(config_.work_dir / "journal.json").load();
  ASSERT_EQ(kept.size(), 1U);
  EXPECT_EQ(kept[0].state, JournalState::kFinishing);
  ASSERT_TRUE(kept[0].result.has_value());
  EXPECT_EQ(kept[0].result->cid, "stubcid-f.png-3");
  EXPECT_TRUE(fs::exists(job.output_dir / "f.png"));
  EXPECT_TRUE(farm_->calls_of("release").empty());  // never handed back: it is finished

  {
    const std::lock_guard lock(farm_->mu);
    farm_->complete_failures = 0;  // the backend is back
  }
  auto again = make();
  again->start();
  ASSERT_TRUE(eventually([&] { return again->status().jobs_done == 1; }));
  const auto c = farm_->calls_of("complete").at(0);
  EXPECT_EQ(c.id, "7");
  EXPECT_EQ(c.text, "stubcid-f.png-3");
  EXPECT_EQ(c.extra, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(c.rendered_with, "CPU 3.4");  // the device said at finish(), kept in the journal
  EXPECT_EQ(farm_->calls_of("assign").size(), 1U);  // not claimed (or rendered) again
  EXPECT_TRUE(farm_->calls_of("fail").empty());
  again->stop(true, 5);
  EXPECT_TRUE(Journal(config_.work_dir / "journal.json").load().empty());
}

TEST_F(EngineTest, ABackendWithoutHeartbeatIsAskedOnceThenNeverAgainAndJobsStillComplete) {
  farm_->no_heartbeat = true;
  auto started = rendering("7");  // named, not bound: clang 14 cannot capture bindings
  auto& engine = started.first;
  auto& job = started.second;
  std::this_thread::sleep_for(500ms);  // 5 heartbeat intervals
  EXPECT_EQ(farm_->calls_of("heartbeat").size(), 1U);
  EXPECT_FALSE(engine->job_cancelled("7"));
  finish_frame(*engine, job);
  ASSERT_TRUE(eventually([&] { return engine->status().jobs_done == 1; }));
  engine->stop(true, 5);
}

TEST_F(EngineTest, AfterANetworkFailureWorkResumesAsSoonAsTheHealthProbeAnswers) {
  config_.network_retry_s = 10;  // the seed's table; the probe cuts it short
  {
    const std::lock_guard lock(farm_->mu);
    farm_->poll_failures = 1;
  }
  auto [engine, job] = rendering("7");  // waits up to 5 s: only the probe can make it
  EXPECT_FALSE(farm_->calls_of("probe").empty());
  engine->stop(false, 5);
}

TEST_F(EngineTest, RenderFailureFromPythonIsReportedWithItsLogTail) {
  auto [engine, job] = rendering("7");
  engine->fail("7", "CUDA out of memory", "Traceback: ...", true);
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("fail").empty(); }));
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_EQ(f.text, "failed: CUDA out of memory");
  EXPECT_EQ(f.extra, "Traceback: ...");
  EXPECT_TRUE(f.retryable);
  EXPECT_EQ(f.code, "");
}

TEST_F(EngineTest, ARefusalKeepsItsWordAndCodeAndLosesTrailingWhitespace) {
  auto [engine, job] = rendering("7");
  engine->fail("7", "refused: 2 external files are not packed: //a.png\n \n", "", false,
               "missing_files");
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("fail").empty(); }));
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_EQ(f.text, "refused: 2 external files are not packed: //a.png");
  EXPECT_EQ(f.code, "missing_files");
  EXPECT_FALSE(f.retryable);
}

TEST_F(EngineTest, ReportsNeverCarryTheWorkDirHomeOrUserName) {
  auto [engine, job] = rendering("7");
  const std::string work = config_.work_dir.string();
  const std::string home = std::getenv("HOME") != nullptr ? std::getenv("HOME") : "/nohome";
  const char* saved_user = std::getenv("USER");
  const std::string saved = saved_user != nullptr ? saved_user : "";
  ::setenv("USER", "artistname", 1);
  const std::string user = "artistname";
  engine->fail("7", "cannot read " + work + "/job-7/scene.blend",
               "opened " + home + "/x.blend as " + user + " in " + work + "/job-7", true,
               "render_error");
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("fail").empty(); }));
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_EQ(f.text, "failed: cannot read <work>/job-7/scene.blend");
  EXPECT_EQ(f.extra.find(work), std::string::npos) << f.extra;
  EXPECT_EQ(f.extra.find(home + "/"), std::string::npos) << f.extra;
  EXPECT_NE(f.extra.find("<work>/job-7"), std::string::npos) << f.extra;
  EXPECT_NE(f.extra.find(" as <user> "), std::string::npos) << f.extra;
  if (saved_user != nullptr) {
    ::setenv("USER", saved.c_str(), 1);
  } else {
    ::unsetenv("USER");
  }
}

TEST_F(EngineTest, StopReleasesPrefetchedAndRenderingJobs) {
  farm_->post("7", "QmGood");
  farm_->post("8", "QmGood");
  auto engine = rendering().first;
  ASSERT_TRUE(eventually([&] {
    return engine->status().state == "rendering" && farm_->calls_of("assign").size() == 2;
  }));
  std::this_thread::sleep_for(100ms);  // job 8 downloaded and queued
  engine->stop(true, 5);
  std::set<std::string> released;
  for (const auto& c : farm_->calls_of("release")) released.insert(c.id);
  EXPECT_EQ(released, (std::set<std::string>{"7", "8"}));
  EXPECT_TRUE(Journal(config_.work_dir / "journal.json").load().empty());
}

TEST_F(EngineTest, PrefetchZeroClaimsNothingWhileAJobRenders) {
  config_.prefetch = 0;
  farm_->post("7", "QmGood");
  farm_->post("8", "QmGood");
  auto [engine, job] = rendering();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(farm_->calls_of("assign").size(), 1U);
  engine->release(job.id, "test");
  ASSERT_TRUE(eventually([&] { return farm_->calls_of("assign").size() == 2; }));
  engine->stop(false, 5);
}

TEST_F(EngineTest, GracefulStopCompletesAPendingUpload) {
  auto [engine, job] = rendering("7");
  finish_frame(*engine, job);
  engine->stop(true, 5);
  EXPECT_EQ(farm_->calls_of("complete").size(), 1U);
}

TEST_F(EngineTest, CrashJournalReportsHandedJobsFailedAndReleasesClaimedOnes) {
  fs::create_directories(config_.work_dir / "job-5");
  std::ofstream(config_.work_dir / "job-5" / "worker.log") << "last words of job 5\n";
  Journal(config_.work_dir / "journal.json")
      .save({{"5", "QmGood", JournalState::kHanded}, {"6", "QmGood", JournalState::kClaimed}});
  auto engine = make();
  engine->start();
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("release").empty(); }));
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_EQ(f.id, "5");
  // Unprefixed: coordinators recognise a crash by "worker crashed" (protocol.md).
  EXPECT_EQ(f.text, "worker crashed while rendering");
  EXPECT_EQ(f.code, "crashed");
  EXPECT_TRUE(f.retryable);
  EXPECT_NE(f.extra.find("last words of job 5"), std::string::npos);
  EXPECT_EQ(farm_->calls_of("release").at(0).id, "6");
  EXPECT_EQ(engine->status().jobs_failed, 1);
  // Job 5 stays in the journal as a poison job of this worker; job 6 is gone.
  ASSERT_TRUE(eventually([&] {
    const auto left = Journal(config_.work_dir / "journal.json").load();
    return left.size() == 1 && left[0].id == "5" && left[0].state == JournalState::kCrashed;
  }));
  EXPECT_TRUE(fs::exists(config_.work_dir / "job-5" / "FAILED"));
  engine->stop(false, 5);
}

TEST_F(EngineTest, PoisonJobGetsBlendersCrashReportAndIsNeverClaimedAgainHere) {
  fs::create_directories(config_.work_dir / "job-5");
  fs::create_directories(config_.work_dir / "tmp");
  std::ofstream(config_.work_dir / "job-5" / "worker.log") << "last words of job 5\n";
  std::ofstream(config_.work_dir / "tmp" / "scene.crash.txt")
      << "# Blender 3.4.1, Commit date: 2022-12-19\n# backtrace\n./blender(BLI_system_backtrace)\n";
  Journal(config_.work_dir / "journal.json").save({{"5", "QmGood", JournalState::kHanded}});
  farm_->post("5", "QmGood");  // the coordinator offers it again (retryable /fail)
  farm_->post("8", "QmGood");
  auto engine = make();
  engine->start();
  auto job = engine->next_job(10);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->id, "8");  // 5 was skipped
  const auto f = farm_->calls_of("fail").at(0);
  EXPECT_EQ(f.id, "5");
  EXPECT_NE(f.extra.find("last words of job 5"), std::string::npos);
  EXPECT_NE(f.extra.find("--- Blender crash report (scene.crash.txt) ---\n# Blender 3.4.1"),
            std::string::npos)
      << f.extra;
  EXPECT_FALSE(fs::exists(config_.work_dir / "tmp" / "scene.crash.txt"));
  EXPECT_TRUE(fs::exists(config_.work_dir / "job-5" / "blender.crash.txt"));
  EXPECT_TRUE(farm_->calls_of("assign").size() == 1 && farm_->calls_of("assign")[0].id == "8");
  engine->release("8", "test over");
  engine->stop(false, 5);
  // A restart still knows: the journal keeps the crashed entry and 5 is not claimed.
  farm_->post("5", "QmGood");
  auto again = make();
  again->start();
  EXPECT_FALSE(again->next_job(2));
  for (const auto& c : farm_->calls_of("assign")) EXPECT_NE(c.id, "5");
  again->stop(false, 5);
}

TEST_F(EngineTest, CrashJournalEntriesOfAnotherCoordinatorAreKeptNotReportedHere) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  fs::create_directories(config_.work_dir);
  Journal(config_.work_dir / "journal.json")
      .save({{"3", "QmGood", JournalState::kHanded, "http://other.example:8000", now - 60},
             {"4", "QmGood", JournalState::kHanded, "http://old.example:8000",
              now - kForeignJournalEntryTtlS - 60},
             {"5", "QmGood", JournalState::kHanded, config_.backend_url, now - 60}});
  auto engine = make();
  engine->start();
  ASSERT_TRUE(eventually([&] { return !farm_->calls_of("fail").empty(); }));
  // Left: job 3 (another coordinator's) and job 5 as this worker's poison job.
  ASSERT_TRUE(
      eventually([&] { return Journal(config_.work_dir / "journal.json").load().size() == 2; }));
  engine->stop(false, 5);
  const auto fails = farm_->calls_of("fail");
  ASSERT_EQ(fails.size(), 1U);  // job 3 belongs to another coordinator: not reported here
  EXPECT_EQ(fails.at(0).id, "5");
  const auto left = Journal(config_.work_dir / "journal.json").load();
  ASSERT_EQ(left.size(), 2U);  // job 4's entry was older than 7 days: dropped
  EXPECT_EQ(left.at(0).id, "3");
  EXPECT_EQ(left.at(0).coordinator, "http://other.example:8000");
  EXPECT_EQ(left.at(0).recorded_at, now - 60);
  EXPECT_EQ(left.at(1).id, "5");
  EXPECT_EQ(left.at(1).state, JournalState::kCrashed);
}

TEST_F(EngineTest, CrashJournalRecordsTheCoordinatorOfEachHeldJob) {
  auto [engine, job] = rendering("7");
  const auto entries = Journal(config_.work_dir / "journal.json").load();
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries.at(0).coordinator, config_.backend_url);
  EXPECT_GT(entries.at(0).recorded_at, 1700000000);
  engine->stop(false, 5);
}

TEST_F(EngineTest, GracefulStopDuringALongPollRecordsNoError) {
  config_.poll_wait_s = 20;
  config_.log_file = dir_ / "engine.log";
  fs::create_directories(dir_);
  auto engine = make();
  engine->start();
  std::this_thread::sleep_for(300ms);
  engine->stop(true, 5);
  EXPECT_EQ(engine->status().last_error, "");
  std::ifstream in(*config_.log_file);
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("authenticated"), std::string::npos);
  EXPECT_EQ(log.find("polling for jobs failed"), std::string::npos) << log;
}

TEST_F(EngineTest, AuthFailureIsRetriedAfterAuthRetry) {
  farm_->auth_failures = 2;
  farm_->post("7", "QmGood");
  auto engine = make();
  engine->start();
  ASSERT_TRUE(engine->next_job(5).has_value());
  EXPECT_NE(engine->status().last_error.find("authentication failed: stub: signature rejected"),
            std::string::npos);
  engine->stop(false, 5);
}

TEST_F(EngineTest, CallsForJobsNotRenderingHereAreRefused) {
  auto engine = make();
  EXPECT_THROW(engine->finish("99", {}, 1), Error);
  EXPECT_THROW(engine->progress("99", 0.5, ""), Error);
  EXPECT_THROW(engine->release("99", ""), Error);
}

TEST_F(EngineTest, IdleStopReturnsWithinASecond) {
  config_.poll_wait_s = 20;
  auto engine = make();
  engine->start();
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  engine->stop(true, 30);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(engine->status().state, "stopped");
}

}  // namespace
}  // namespace farmhand::engine
