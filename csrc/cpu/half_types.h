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

inline float to_float(bfloat16_t v) { return f32_from_bits(uint32_t(v.x) << 16); }

inline bfloat16_t to_bfloat16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return bfloat16_t{uint16_t((u >> 16) | 0x0040u)};  // quiet NaN
  u += 0x7FFFu + ((u >> 16) & 1u);  // round to nearest, ties to even
  return bfloat16_t{uint16_t(u >> 16)};
}

inline float to_float(half_t v) {
  // Shift exponent and mantissa into place, rebias; Inf/NaN and subnormals need an extra adjustment.
  const uint32_t shifted_exp = 0x7C00u << 13;
  uint32_t o = (uint32_t(v.x) & 0x7FFFu) << 13;
  const uint32_t exp = o & shifted_exp;
  o += (127u - 15u) << 23;
  if (exp == shifted_exp) {
    o += (128u - 16u) << 23;
  } else if (exp == 0) {
    o += 1u << 23;
    o = f32_bits(f32_from_bits(o) - f32_from_bits(113u << 23));
  }
  return f32_from_bits(o | ((uint32_t(v.x) & 0x8000u) << 16));
}

inline half_t to_half(float f) {
  uint32_t u = f32_bits(f);
  const uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint16_t o;
  if (u >= (143u << 23)) {  // |f| >= 65536: Inf, or NaN kept quiet
    o = u > 0x7F800000u ? 0x7E00 : 0x7C00;
  } else if (u < (113u << 23)) {  // subnormal or zero: the FPU's own round-to-nearest-even does the work
    const uint32_t magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
    o = uint16_t(f32_bits(f32_from_bits(u) + f32_from_bits(magic)) - magic);
  } else {
    const uint32_t mant_odd = (u >> 13) & 1u;
    u += ((15u - 127u) << 23) + 0xFFFu + mant_odd;  // rebias and round to nearest even (may carry to Inf)
    o = uint16_t(u >> 13);
  }
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
