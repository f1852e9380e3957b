//! Named parameter sets. Every prime is annotated with its bit size; `log2(QP)` is checked by [`Params::new`].
//!
//! [`Params::new`]: super::Params::new

use super::params::{ParamsLiteral, SecretDistribution, Security};

/// Every preset, for listings and tests.
pub const ALL: &[&ParamsLiteral] = &[
    &TEST_INSECURE_N1024,
    &TEST_INSECURE_N2048_DEPTH30,
    &N4096_QP109_S28,
    &N8192_QP201_S40,
    &N16384_QP422_S40,
    &N32768_QP864_S40,
    &N65536_QP1626_S40,
    &TEST_INSECURE_N4096_BOOT,
    &N65536_BOOT_QP1762_S40,
];

/// The rescaling primes of the 2^16-degree chains at scale 2^40, alternating 41 and 40 bits around 2^40 so the
/// scale stays within 2^-20 of it: [`N65536_QP1626_S40`] rescales by all 30, [`N65536_BOOT_QP1762_S40`] by the
/// first 12 (its application levels).
const RESCALING_N65536_S40: [u64; 30] = [
    0x100_0014_0001, // 41
    0xff_ffe8_0001,  // 40
    0x100_003e_0001, // 41
    0xff_ffc4_0001,  // 40
    0x100_0050_0001, // 41
    0xff_ffb2_0001,  // 40
    0x100_0096_0001, // 41
    0xff_ff94_0001,  // 40
    0x100_00a4_0001, // 41
    0xff_ff8a_0001,  // 40
    0x100_00b6_0001, // 41
    0xff_ff82_0001,  // 40
    0x100_00ce_0001, // 41
    0xff_ff78_0001,  // 40
    0x100_00de_0001, // 41
    0xff_ff58_0001,  // 40
    0x100_010a_0001, // 41
    0xff_ff48_0001,  // 40
    0x100_0168_0001, // 41
    0xff_ff42_0001,  // 40
    0x100_0176_0001, // 41
    0xff_ff34_0001,  // 40
    0x100_018c_0001, // 41
    0xff_feb6_0001,  // 40
    0x100_0194_0001, // 41
    0xff_feb0_0001,  // 40
    0x100_01bc_0001, // 41
    0xff_fe9e_0001,  // 40
    0x100_01be_0001, // 41
    0xff_fe86_0001,  // 40
];

/// `parts` one after another, as one array of their total length `N`.
const fn chain<const N: usize>(parts: &[&[u64]]) -> [u64; N] {
    let mut out = [0; N];
    let (mut part, mut at) = (0, 0);
    while part < parts.len() {
        let mut i = 0;
        while i < parts[part].len() {
            out[at] = parts[part][i];
            (at, i) = (at + 1, i + 1);
        }
        part += 1;
    }
    assert!(at == N, "the parts' total length is not N");
    out
}

/// **Insecure, for tests only**: N = 2^10, a 50-bit base prime and four ~35-bit rescaling primes (depth 4 at
/// scale 2^35), two 55-bit special primes (2 digits). `log2(QP) ≈ 301`, far above the 27 bits allowed at this degree.
pub const TEST_INSECURE_N1024: ParamsLiteral = ParamsLiteral {
    name: "test-insecure-n1024",
    log_degree: 10,
    q: &[
        0x3_ffff_ffff_c001, // 50
        0x8_0000_4001,      // 36
        0x7_ffff_c801,      // 35
        0x8_0000_8001,      // 36
        0x7_ffff_9001,      // 35
    ],
    p: &[
        0x7f_ffff_fffd_d001, // 55
        0x7f_ffff_fffd_8801, // 55
    ],
    log_scale: 35,
    secret: SecretDistribution::Ternary,
    security: Security::InsecureForTestsOnly,
};

/// **Insecure, for tests only**: N = 2^11 with a 61-bit base prime, 30 rescaling primes within 2^-20 of 2^40
/// (one encrypted training step at scale 2^40, as many levels as [`N65536_QP1626_S40`]) and four ~61-bit special
/// primes (6 digits). `log2(QP) ≈ 1508`, far above the 54 bits allowed at this degree: it exists so training
/// can be tested end to end in seconds.
pub const TEST_INSECURE_N2048_DEPTH30: ParamsLiteral = ParamsLiteral {
    name: "test-insecure-n2048-depth30",
    log_degree: 11,
    q: &[
        0x1000_0000_0000_e001, // 61
        0x10000029001,         // 41
        0xffffff7001,          // 40
        0x1000002a001,         // 41
        0xfffffed001,          // 40
        0x10000033001,         // 41
        0xfffffe7001,          // 40
        0x10000048001,         // 41
        0xfffffdf001,          // 40
        0x1000005c001,         // 41
        0xfffffdc001,          // 40
        0x10000065001,         // 41
        0xfffffc6001,          // 40
        0x1000006f001,         // 41
        0xfffffc1001,          // 40
        0x10000072001,         // 41
        0xfffffa6001,          // 40
        0x1000009c001,         // 41
        0xfffff82001,          // 40
        0x100000a2001,         // 41
        0xfffff61001,          // 40
        0x100000a4001,         // 41
        0xfffff5d001,          // 40
        0x100000ab001,         // 41
        0xfffff4c001,          // 40
        0x100000b4001,         // 41
        0xfffff4b001,          // 40
        0x100000b6001,         // 41
        0xfffff3c001,          // 40
        0x100000c2001,         // 41
        0xfffff19001,          // 40
    ],
    p: &[
        0x2000_0000_0001_a001, // 62
        0x1fff_ffff_fffe_d001, // 61
        0x2000_0000_0001_d001, // 62
        0x1fff_ffff_fffd_e001, // 61
    ],
    log_scale: 40,
    secret: SecretDistribution::Ternary,
    security: Security::InsecureForTestsOnly,
};

/// The edge-device preset, 128-bit secure: N = 2^12 (2048 slots), `q_0` of 38 bits and one 28-bit rescaling
/// prime at scale 2^28 (depth 1: exactly one plaintext-matrix product, the linear head), one 43-bit special
/// prime (2 digits: each one prime, below `P`). `log2(QP) ≈ 108.9997 ≤ 109`.
/// After the head's rescale, values must stay below `q_0 / (2Δ) ≈ 2^9` in magnitude.
pub const N4096_QP109_S28: ParamsLiteral = ParamsLiteral {
    name: "n4096-qp109-s28",
    log_degree: 12,
    q: &[
        0x3f_fffe_a001, // 38
        0xfff_0001,     // 28
    ],
    p: &[
        0x7ff_fffd_8001, // 43
    ],
    log_scale: 28,
    secret: SecretDistribution::Ternary,
    security: Security::Bits128,
};

/// The training preset, 128-bit secure: N = 2^16 (32768 slots), a 60-bit base prime and 30 rescaling primes of
/// 40–41 bits alternating around 2^40 (depth 30 at scale 2^40), six 61-bit special primes, 4 digits
/// (of 8, 9, 9 and 5 primes, at most ≈ 365 bits, below `P ≈ 366` bits). `log2(QP) ≈ 1626 ≤ 1772`.
pub const N65536_QP1626_S40: ParamsLiteral = ParamsLiteral {
    name: "n65536-qp1626-s40",
    log_degree: 16,
    q: &chain::<31>(&[&[0xfff_ffff_fffc_0001 /* 60 */], &RESCALING_N65536_S40]),
    p: &[
        0x1fff_ffff_ffe0_0001, // 61
        0x1fff_ffff_ffc8_0001, // 61
        0x1fff_ffff_ffb4_0001, // 61
        0x1fff_ffff_ff50_0001, // 61
        0x1fff_ffff_ff42_0001, // 61
        0x1fff_ffff_ff38_0001, // 61
    ],
    log_scale: 40,
    secret: SecretDistribution::Ternary,
    security: Security::Bits128,
};
/// 128-bit secure, N = 2^13 (4096 slots): a 60-bit base prime and 2 rescaling primes around 2^40
/// (depth 2 at scale 2^40), 1 special prime of 61 bits, 3 digits. `log2(QP) ≈ 2e+02 ≤ 218`.
pub const N8192_QP201_S40: ParamsLiteral = ParamsLiteral {
    name: "n8192-qp201-s40",
    log_degree: 13,
    q: &[
        0xfff_ffff_ffff_c001, // 60
        0x100_0004_8001,      // 41
        0xff_fffd_c001,       // 40
    ],
    p: &[
        0x1fff_ffff_fffa_4001, // 61
    ],
    log_scale: 40,
    secret: SecretDistribution::Ternary,
    security: Security::Bits128,
};

/// 128-bit secure, N = 2^14 (8192 slots): a 60-bit base prime and 6 rescaling primes around 2^40
/// (depth 6 at scale 2^40), 2 special primes of 61 bits, 3 digits. `log2(QP) ≈ 4e+02 ≤ 438`.
pub const N16384_QP422_S40: ParamsLiteral = ParamsLiteral {
    name: "n16384-qp422-s40",
    log_degree: 14,
    q: &[
        0xfff_ffff_fffe_8001, // 60
        0x100_0004_8001,      // 41
        0xff_ffe8_0001,       // 40
        0x100_0014_0001,      // 41
        0xff_ffca_8001,       // 40
        0x100_0029_0001,      // 41
        0xff_ffc4_0001,       // 40
    ],
    p: &[
        0x1fff_ffff_ffe1_0001, // 61
        0x1fff_ffff_ffe0_0001, // 61
    ],
    log_scale: 40,
    secret: SecretDistribution::Ternary,
    security: Security::Bits128,
};

/// 128-bit secure, N = 2^15 (16384 slots): a 60-bit base prime and 14 rescaling primes around 2^40
/// (depth 14 at scale 2^40), 4 special primes of 61 bits, 3 digits. `log2(QP) ≈ 9e+02 ≤ 881`.
pub const N32768_QP864_S40: ParamsLiteral = ParamsLiteral {
    name: "n32768-qp864-s40",
    log_degree: 15,
    q: &[
        0xfff_ffff_fffc_0001, // 60
        0x100_0014_0001,      // 41
        0xff_ffe8_0001,       // 40
        0x100_0029_0001,      // 41
        0xff_ffc4_0001,       // 40
        0x100_003e_0001,      // 41
        0xff_ffb2_0001,       // 40
        0x100_0047_0001,      // 41
        0xff_ff94_0001,       // 40
        0x100_004b_0001,      // 41
        0xff_ff8a_0001,       // 40
        0x100_0050_0001,      // 41
        0xff_ff82_0001,       // 40
        0x100_0065_0001,      // 41
        0xff_ff78_0001,       // 40
    ],
    p: &[
        0x1fff_ffff_ffe1_0001, // 61
        0x1fff_ffff_ffe0_0001, // 61
        0x1fff_ffff_ffdd_0001, // 61
        0x1fff_ffff_ffc8_0001, // 61
    ],
    log_scale: 40,
    secret: SecretDistribution::Ternary,
    security: Security::Bits128,
};

/// The bootstrapping preset, 128-bit secure: N = 2^16; from the bottom a 53-bit base prime `q_0` (`q_0/Δ ≈ 2^12`),
/// 12 levels of 40–41 bits for the application (scale 2^40), 3 primes of 42 bits for SlotToCoeff, 12 of 61 bits
/// for EvalMod (9) and CoeffToSlot (3); six 62-bit special primes and 4 digits (`q_0` and
/// 7 application primes; 5 and the SlotToCoeff primes; 6 EvalMod primes; the other 6), each ≤ `P` ≈ 372 bits. `log2(QP) ≈ 1762 ≤ 1772`. With [`BOOTSTRAP_N65536`], 12 levels are left after
/// bootstrapping.
pub const N65536_BOOT_QP1762_S40: ParamsLiteral = ParamsLiteral {
    name: "n65536-boot-qp1762-s40",
    log_degree: 16,
    q: &chain::<28>(&[
        &[0x10_0000_0006_0001 /* 53 */],
        RESCALING_N65536_S40.split_at(12).0,
        &[
            0x3ff_ffe8_0001,       // 42
            0x3ff_ffd2_0001,       // 42
            0x3ff_ffca_0001,       // 42
            0x1fff_ffff_ffe0_0001, // 61
            0x1fff_ffff_ffc8_0001, // 61
            0x2000_0000_0046_0001, // 62
            0x1fff_ffff_ffb4_0001, // 61
            0x2000_0000_0050_0001, // 62
            0x2000_0000_0062_0001, // 62
            0x2000_0000_007c_0001, // 62
            0x2000_0000_00a0_0001, // 62
            0x1fff_ffff_ff50_0001, // 61
            0x2000_0000_00b0_0001, // 62
            0x1fff_ffff_ff42_0001, // 61
            0x1fff_ffff_ff38_0001, // 61
        ],
    ]),
    p: &[
        0x3fff_ffff_ffe8_0001, // 62
        0x3fff_ffff_ffbe_0001, // 62
        0x3fff_ffff_ffb8_0001, // 62
        0x3fff_ffff_ff54_0001, // 62
        0x3fff_ffff_feda_0001, // 62
        0x3fff_ffff_fec8_0001, // 62
    ],
    log_scale: 40,
    secret: SecretDistribution::Ternary,
    security: Security::Bits128,
};

/// The ephemeral sparse key of [`BOOTSTRAP_N65536`]: `q_0` and the first special prime of
/// [`N65536_BOOT_QP1762_S40`] (`log2(q_0·p_0) ≈ 115`), Hamming weight 32. The standard's bound (checked) is for
/// ternary secrets; for this sparse one we rely on Bossuat et al. (ACNS 2022), who size exactly this
/// encapsulation (h = 32, N = 2^16, `log2(q_0·p_0)` around 120) at 128 bits with the lattice estimator, hybrid
/// attacks included — we did not rerun the estimator (it needs Sage). The margin is wide: ternary secrets are
/// safe up to 1772 bits here, fifteen times this modulus. The key encrypts nothing but the dense key's
/// switching key, and only modulo `q_0·p_0`.
pub const N65536_BOOT_ENCAPSULATION: ParamsLiteral = ParamsLiteral {
    name: "n65536-boot-encapsulation",
    log_degree: 16,
    q: &[
        0x10_0000_0006_0001, // 53
    ],
    p: &[
        0x3fff_ffff_ffe8_0001, // 62
    ],
    log_scale: 40,
    secret: SecretDistribution::HammingWeight(32),
    security: Security::Bits128,
};

/// **Insecure, for tests only**: [`N65536_BOOT_QP1762_S40`]'s primes at N = 2^12 (the same 12 application
/// levels) with four special primes (6 digits): bootstrapping and bootstrapped training tests in seconds.
pub const TEST_INSECURE_N4096_BOOT: ParamsLiteral = ParamsLiteral {
    name: "test-insecure-n4096-boot",
    log_degree: 12,
    q: N65536_BOOT_QP1762_S40.q,
    p: N65536_BOOT_QP1762_S40.p.split_at(4).0,
    log_scale: 40,
    secret: SecretDistribution::Ternary,
    security: Security::InsecureForTestsOnly,
};

/// **Insecure, for tests only**: the sparse key of [`TEST_INSECURE_BOOTSTRAP_N4096`].
pub const TEST_INSECURE_N4096_BOOT_ENCAPSULATION: ParamsLiteral = ParamsLiteral {
    name: "test-insecure-n4096-boot-encapsulation",
    log_degree: 12,
    q: N65536_BOOT_ENCAPSULATION.q,
    p: N65536_BOOT_ENCAPSULATION.p,
    log_scale: 40,
    secret: SecretDistribution::HammingWeight(32),
    security: Security::InsecureForTestsOnly,
};
