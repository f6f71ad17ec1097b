// Fresh CPU tensors whose memory the ops reuse across calls (cpu_output_cache.cpp says why and how).
#pragma once

#include <ATen/ATen.h>

namespace fastlif {

// An uninitialised CPU tensor of these sizes, strides and dtype, its memory from the output cache.
at::Tensor cached_empty_strided(at::IntArrayRef sizes, at::IntArrayRef strides, at::ScalarType dtype);

}  // namespace fastlif
