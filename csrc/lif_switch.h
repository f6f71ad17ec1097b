// Runtime options → compile-time template parameters (mamba's BOOL_SWITCH idea, as generic lambdas), so the
// kernels' inner loops carry no branches on the equation (charge, reset), detach, surrogate kind or optional tensors.
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
    case 2: f(std::integral_constant<Reset, Reset::SubtractNext>{}); break;
    default: throw std::invalid_argument("fastlif: reset id must be 0 (hard), 1 (soft) or 2 (subtract_next)");
  }
}

// The equation: (Charge, Reset) pairs. SubtractNext is snnTorch's reset and comes with the plain decay charge.
template <typename F>
void switch_equation(int charge, int r, F&& f) {
  using Decay = std::integral_constant<Charge, Charge::Decay>;
  using Scaled = std::integral_constant<Charge, Charge::ScaledInput>;
  if (charge != 0 && charge != 1) throw std::invalid_argument("fastlif: charge id must be 0 (decay) or 1 (scaled input)");
  if (charge == 1 && r == 2) throw std::invalid_argument("fastlif: the subtract_next reset comes with charge 0 (decay)");
  switch_reset(r, [&](auto rr) {
    if constexpr (decltype(rr)::value == Reset::SubtractNext) {
      f(Decay{}, rr);
    } else {
      if (charge == 0) f(Decay{}, rr); else f(Scaled{}, rr);
    }
  });
}

// detach_reset for reset R: SubtractNext's reset is always detached, so it has one variant, not two.
template <Reset R, typename F>
void switch_detach(bool detach, F&& f) {
  if constexpr (R == Reset::SubtractNext) {
    f(std::false_type{});
  } else {
    switch_bool(detach, f);
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
