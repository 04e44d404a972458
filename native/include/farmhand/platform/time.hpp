#pragma once
// Calendar time from the operating system (platform layer: see platform/file.hpp).

#include <ctime>

namespace farmhand::platform {

// `t` (seconds since the Unix epoch) broken down in UTC; thread-safe (gmtime_r on POSIX,
// gmtime_s on Windows).
std::tm utc_tm(std::time_t t);

}  // namespace farmhand::platform
