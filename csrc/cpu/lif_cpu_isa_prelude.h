// What every lif_cpu_<isa>.cpp includes BEFORE it selects its instruction set: the standard library and the
// shared math are then compiled for the baseline target (so their out-of-line copies, merged by the linker across
// the ISA files, are safe on every CPU) and still inline into the ISA-specific kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <type_traits>
#include <stdexcept>

#include "../lif_math.h"
#include "../lif_params.h"
#include "../lif_switch.h"
#include "half_types.h"
#include "stream_store.h"
