// Runtime choice of the instruction set the kernels run with.
#pragma once

namespace normkit {

enum class Isa { kScalar = 0, kSse2 = 1, kAvx2 = 2, kAvx512 = 3, kNeon = 4 };

// Stable lower-case name: "scalar", "sse2", "avx2", "avx512", "neon".
const char* IsaName(Isa isa);
// Parses a name as above; returns false for an unknown name.
bool ParseIsa(const char* name, Isa* out);
// Best ISA that this build contains and this CPU executes.
Isa BestSupportedIsa();
// True when this build contains `isa` and this CPU executes it.
bool IsaSupported(Isa isa);
// ISA every kernel currently dispatches to. At load it is
// NORMKIT_ISA when set (and supported), else BestSupportedIsa().
Isa ActiveIsa();
// Forces an ISA; returns false (and changes nothing) when unsupported.
bool SetActiveIsa(Isa isa);

}  // namespace normkit
