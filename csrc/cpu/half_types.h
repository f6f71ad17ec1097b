// fp16 and bf16 storage for the torch-free CPU kernel: 16-bit patterns with round-to-nearest-even conversion
// from float (matching at::Half / at::BFloat16), plus the traits lif_math.h's store_membrane() needs.
#pragma once

#include <cstdint>
#include <cstring>

namespace fastlif {

struct half_t { uint16_t x; };
struct bfloat16_t { uint16_t x; };

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float f32_from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// The conversions are written as selects, not branches, so the kernels' inner loops still vectorise.
inline float to_float(bfloat16_t v) { return f32_from_bits(uint32_t(v.x) << 16); }

inline bfloat16_t to_bfloat16(float f) {
  const uint32_t u = f32_bits(f);
  const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;  // round to nearest, ties to even
  const uint32_t quiet_nan = (u >> 16) | 0x0040u;
  return bfloat16_t{uint16_t((u & 0x7FFFFFFFu) > 0x7F800000u ? quiet_nan : rounded)};
}

inline float to_float(half_t v) {
  // Shift exponent and mantissa into place and rebias; Inf/NaN and subnormals need an extra adjustment.
  const uint32_t shifted_exp = 0x7C00u << 13;
  const uint32_t em = (uint32_t(v.x) & 0x7FFFu) << 13;
  const uint32_t exp = em & shifted_exp;
  const uint32_t normal = em + ((127u - 15u) << 23);
  const uint32_t inf_nan = normal + ((128u - 16u) << 23);
  const uint32_t subnormal = f32_bits(f32_from_bits(normal + (1u << 23)) - f32_from_bits(113u << 23));
  const uint32_t o = exp == shifted_exp ? inf_nan : (exp == 0 ? subnormal : normal);
  return f32_from_bits(o | ((uint32_t(v.x) & 0x8000u) << 16));
}

inline half_t to_half(float f) {
  const uint32_t sign = f32_bits(f) & 0x80000000u;
  const uint32_t u = f32_bits(f) ^ sign;
  // |f| >= 65536: Inf, or NaN kept quiet.
  const uint32_t inf_nan = u > 0x7F800000u ? 0x7E00u : 0x7C00u;
  // Subnormal or zero: adding a magic float lets the FPU's own round-to-nearest-even place the mantissa.
  const uint32_t magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  const uint32_t subnormal = f32_bits(f32_from_bits(u) + f32_from_bits(magic)) - magic;
  // Normal: rebias and round to nearest even (a carry may reach Inf, which is right).
  const uint32_t normal = (u + ((15u - 127u) << 23) + 0xFFFu + ((u >> 13) & 1u)) >> 13;
  const uint32_t o = u >= (143u << 23) ? inf_nan : (u < (113u << 23) ? subnormal : normal);
  return half_t{uint16_t(o | (sign >> 16))};
}

// Storage traits: how a kernel loads/stores element type T with arithmetic type acc_t.
template <typename T, typename acc_t>
struct Storage;

template <typename acc_t>
struct Storage<acc_t, acc_t> {
  using type = acc_t;
  static constexpr bool exact = true;
  static acc_t to_acc(acc_t v) { return v; }
  static acc_t from_acc(acc_t v) { return v; }
};

template <>
struct Storage<half_t, float> {
  using type = half_t;
  static constexpr bool exact = false;
  static float to_acc(half_t v) { return to_float(v); }
  static half_t from_acc(float v) { return to_half(v); }
  static uint16_t bits(half_t v) { return v.x; }
  static half_t from_bits(uint16_t b) { return half_t{b}; }
};

template <>
struct Storage<bfloat16_t, float> {
  using type = bfloat16_t;
  static constexpr bool exact = false;
  static float to_acc(bfloat16_t v) { return to_float(v); }
  static bfloat16_t from_acc(float v) { return to_bfloat16(v); }
  static uint16_t bits(bfloat16_t v) { return v.x; }
  static bfloat16_t from_bits(uint16_t b) { return bfloat16_t{b}; }
};

}  // namespace fastlif
