// The project's version, from the top-level VERSION file (via CMake).
#pragma once

namespace farmhand {
inline constexpr const char* kVersion = FARMHAND_VERSION;
}  // namespace farmhand
