// farmhand_core._native.ipfs: CIDs, UnixFS hashing and verified transfer (farmhand/ipfs/).
// Work runs with the GIL released; progress callbacks re-acquire it.
#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <atomic>
#include <cmath>
#include <optional>

#include "bind.hpp"
#include "farmhand/error.hpp"
#include "farmhand/ipfs/client.hpp"
#include "farmhand/ipfs/importer.hpp"
#include "farmhand/ipfs/sha256.hpp"

namespace py = pybind11;

namespace farmhand::python {
namespace {

ipfs::Client make_client(std::vector<std::string> rpc_urls, std::vector<std::string> gateway_urls,
                         uint64_t max_bytes, double timeout_s, int cid_version, bool car,
                         uint64_t plain_min_bytes, std::size_t plain_streams, bool durable) {
  // Bounded above so the cast to whole seconds is defined (inf or 1e300 would overflow it).
  if (!(timeout_s > 0 && timeout_s <= 86400)) {
    throw Error(
        ErrorKind::kInvalidArgument,
        "timeout_s must be positive and at most 86400 (a day), got " + std::to_string(timeout_s));
  }
  ipfs::ClientOptions o;
  o.rpc_urls = std::move(rpc_urls);
  o.gateway_urls = std::move(gateway_urls);
  o.max_bytes = max_bytes;
  o.source_timeout = std::chrono::seconds(static_cast<int64_t>(std::ceil(timeout_s)));
  o.cid_version = cid_version;
  o.stream_car = car;
  o.plain_stream_min_bytes = plain_min_bytes;
  o.plain_streams = plain_streams;
  o.durable = durable;
  return ipfs::Client(std::move(o));
}

std::string download(ipfs::Client& client, const std::string& cid,
                     const std::filesystem::path& dest_dir, const py::object& progress,
                     const std::optional<std::string>& filename) {
  const ipfs::Cid parsed = ipfs::Cid::parse(cid);
  std::atomic<bool> cancel{false};
  std::optional<py::error_already_set> callback_error;
  ipfs::Progress on_progress;
  if (!progress.is_none()) {
    on_progress = [&](uint64_t done, uint64_t total) {
      py::gil_scoped_acquire gil;
      try {
        const py::object r = progress(done, total);
        if (!r.is_none() && !r.cast<bool>()) cancel = true;  // progress returned False
      } catch (py::error_already_set& e) {
        callback_error = std::move(e);
        cancel = true;
        throw Error(ErrorKind::kCancelled, "progress callback raised");
      }
    };
  }
  std::filesystem::path out;
  try {
    py::gil_scoped_release release;
    out = client.download(parsed, dest_dir, filename.value_or(""), on_progress, &cancel);
  } catch (const Error&) {
    if (callback_error) throw std::move(*callback_error);
    throw;
  }
  return out.string();
}

}  // namespace

void bind_ipfs(py::module_& parent) {
  py::module_ m = parent.def_submodule(
      "ipfs",
      "CIDs identical to kubo's `ipfs add`, and IPFS download/upload that verifies "
      "every block against its CID.");

  // The package module farmhand_core.ipfs re-exports these; set them here too so that
  // `farmhand_core.ipfs` works the same before and after `import farmhand_core.ipfs`.
  for (const char* name : {"IpfsError", "CidInvalid", "CidMismatch", "BlockVerificationFailed",
                           "NotFound", "TooLarge", "Timeout", "Cancelled", "NetworkError",
                           "HttpStatusError", "MalformedResponse", "IoError", "InvalidArgument"}) {
    m.attr(name) = parent.attr(name);
  }

  m.def(
      "cid_of",
      [](const std::filesystem::path& path, int cid_version) {
        py::gil_scoped_release release;
        return ipfs::cid_of(path, {cid_version, 0}).to_string();
      },
      py::arg("path"), py::arg("cid_version") = 0,
      "CID that `ipfs add -Q --only-hash [--cid-version=1] [-r] PATH` prints for a file or\n"
      "directory (256 KiB chunks, balanced DAG, 174 links; v1: raw leaves, base32).\n"
      "Raises IoError (unreadable), InvalidArgument (cid_version not 0/1, symlink).");

  m.def(
      "sha256_file_hex",
      [](const std::filesystem::path& path) {
        py::gil_scoped_release release;
        return ipfs::sha256_file_hex(path);
      },
      py::arg("path"), "Lower-case hex SHA-256 of a file's bytes. Raises IoError.");

  m.def(
      "parse_cid",
      [](const std::string& text) {
        const ipfs::Cid c = ipfs::Cid::parse(text);
        return py::make_tuple(c.version(), c.codec(), c.to_string());
      },
      py::arg("cid"),
      "(version, codec, canonical text) of a CID, e.g. (1, 0x55, 'bafkrei...'); CIDv1 is\n"
      "printed in base32. Raises CidInvalid naming what is wrong.");

  py::class_<ipfs::Client>(m, "Client",
                           "Verified IPFS transfer through kubo RPC APIs (tried first) and "
                           "trustless HTTP gateways.")
      .def(py::init(&make_client), py::arg("rpc_urls"),
           py::arg("gateway_urls") = std::vector<std::string>{},
           py::arg("max_bytes") = uint64_t{4} << 30, py::arg("timeout_s") = 60.0,
           py::arg("cid_version") = 0, py::arg("car") = true,
           py::arg("plain_min_bytes") = uint64_t{128} << 20, py::arg("plain_streams") = 4,
           py::arg("durable") = false,
           "rpc_urls/gateway_urls: base URLs such as 'http://127.0.0.1:5001'; max_bytes: the\n"
           "largest file download() accepts; timeout_s: limit per block request per source\n"
           "(seconds, rounded up; a CAR stream fails over when no block came for that long);\n"
           "cid_version: 0 or 1 for upload(); car: download the DAG as one verified CAR\n"
           "stream (falling back to block by block), False = block by block only;\n"
           "plain_min_bytes: with car, a file of at least this size comes as plain byte\n"
           "streams (RPC cat, gateway /ipfs/CID ranges; plain_streams connections), each\n"
           "leaf hashed against the DAG's verified internal nodes as it passes;\n"
           "durable: fsync a download before renaming it into place.\n"
           "Raises InvalidArgument if no URL is given, a URL is not http(s)://,\n"
           "timeout_s is not in (0, 86400] or cid_version is not 0/1.")
      .def("download", &download, py::arg("cid"), py::arg("dest_dir"),
           py::arg("progress") = py::none(), py::arg("filename") = py::none(),
           "Downloads the file `cid` into dest_dir/filename (default: the CID), verifying\n"
           "every block; returns the path. progress(done_bytes, total_bytes) is called as\n"
           "bytes are written; returning False cancels. Nothing is left behind on failure.\n"
           "Raises TooLarge, NotFound, BlockVerificationFailed, CidInvalid, Cancelled, IoError.")
      .def(
          "upload",
          [](ipfs::Client& c, const std::filesystem::path& path) {
            py::gil_scoped_release release;
            return c.upload(path).to_string();
          },
          py::arg("path"),
          "Adds a file or directory with pin=true and returns its CID, after checking it\n"
          "equals the locally computed one. Raises CidMismatch, HttpStatusError,\n"
          "NetworkError, Timeout, MalformedResponse, IoError.");
}

}  // namespace farmhand::python
