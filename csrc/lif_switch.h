// Runtime options → compile-time template parameters (mamba's BOOL_SWITCH idea, as generic lambdas), so the
// kernels' inner loops carry no branches on reset mode, detach, surrogate kind or optional tensors.
#pragma once

#include <stdexcept>
#include <type_traits>

#include "lif_math.h"

namespace fastlif {

template <typename F>
void switch_bool(bool b, F&& f) {
  if (b) f(std::true_type{}); else f(std::false_type{});
}

template <typename F>
void switch_reset(int r, F&& f) {
  switch (r) {
    case 0: f(std::integral_constant<Reset, Reset::Hard>{}); break;
    case 1: f(std::integral_constant<Reset, Reset::Soft>{}); break;
    default: throw std::invalid_argument("fastlif: reset id must be 0 (hard) or 1 (soft)");
  }
}

template <typename F>
void switch_surrogate(int k, F&& f) {
  switch (k) {
    case 0: f(std::integral_constant<Surrogate, Surrogate::Triangle>{}); break;
    case 1: f(std::integral_constant<Surrogate, Surrogate::Rectangle>{}); break;
    case 2: f(std::integral_constant<Surrogate, Surrogate::Sigmoid>{}); break;
    case 3: f(std::integral_constant<Surrogate, Surrogate::ATan>{}); break;
    case 4: f(std::integral_constant<Surrogate, Surrogate::SuperSpike>{}); break;
    default: throw std::invalid_argument("fastlif: surrogate id must lie in 0..4");
  }
}

}  // namespace fastlif
