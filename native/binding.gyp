{
  # The native kernels. Each ISA is its own static library with its own -m flags; addon.cc
  # picks one at run time from CPUID, so the addon loads on any CPU of its architecture.
  # -ffp-contract=off keeps multiply and add separate (bit-identical to the reference).
  "target_defaults": {
    "cflags": ["-O3", "-fPIC", "-ffp-contract=off", "-fno-math-errno"],
    "cflags_cc": ["-std=gnu++17"],
  },
  "targets": [
    {
      "target_name": "xnorcam_native",
      "sources": ["src/addon.cc", "src/pool.cc"],
      "conditions": [
        ["target_arch=='x64'", {"dependencies": ["xk_avx512", "xk_avx2", "xk_popcnt"]}],
        ["target_arch=='arm64'", {"dependencies": ["xk_neon"]}],
      ],
    },
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "xk_avx512",
          "type": "static_library",
          "sources": ["src/isa_avx512.cc"],
          "cflags": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512vpopcntdq", "-mavx512vnni", "-mavx2", "-mpopcnt"],
        },
        {
          "target_name": "xk_avx2",
          "type": "static_library",
          "sources": ["src/isa_avx2.cc"],
          "cflags": ["-mavx2", "-mfma", "-mpopcnt"],
        },
        {
          "target_name": "xk_popcnt",
          "type": "static_library",
          "sources": ["src/isa_popcnt.cc"],
          "cflags": ["-mssse3", "-msse4.2", "-mpopcnt"],
        },
      ],
    }],
    ["target_arch=='arm64'", {
      "targets": [
        {
          "target_name": "xk_neon",
          "type": "static_library",
          "sources": ["src/isa_neon.cc"],
        },
      ],
    }],
  ],
}
