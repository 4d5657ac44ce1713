//! MurmurHash3, bit for bit as Python's `mmh3` computes it.
//!
//! The pool's rendezvous hashing (which account serves which chat) and the media
//! pipeline's storage keys must stay stable across restarts, releases and the original
//! Python collector, so they use one well-known, seeded, non-cryptographic hash with
//! published reference values rather than `std`'s `DefaultHasher` (whose output may
//! change between Rust releases).
//!
//! The work is done by the `mur3` crate (maintained by TiKV): it matches `mmh3` exactly,
//! like the `murmur3` crate, but hashes a byte slice directly (the `murmur3` crate reads
//! through `std::io::Read` and returns an `io::Result` that can never fail here) and is
//! about twice as fast, which matters because the pool hashes once per account per pick.

/// `mmh3.hash(bytes, seed, signed=False)`: the 32-bit x86 variant.
pub fn murmur3_32(bytes: &[u8], seed: u32) -> u32 {
    mur3::murmurhash3_x86_32(bytes, seed)
}

/// `mmh3.hash128(bytes, seed)`: the 128-bit x64 variant, as the unsigned integer `mmh3`
/// returns (the first 64-bit half is the low half).
pub fn murmur3_128(bytes: &[u8], seed: u32) -> u128 {
    let (low, high) = mur3::murmurhash3_x64_128(bytes, seed);
    (u128::from(high) << 64) | u128::from(low)
}

/// `mmh3.hash64(bytes, seed, signed=False)[0]`: the first half of the 128-bit x64 hash,
/// for when 64 bits are plenty (rendezvous scores).
pub fn murmur3_64(bytes: &[u8], seed: u32) -> u64 {
    mur3::murmurhash3_x64_128(bytes, seed).0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values printed by Python's `mmh3` 5.x: `(input, hash(signed=False),
    /// hash(seed=42, signed=False), hash128(), hash64(signed=False)[0])`.
    const MMH3: [(&[u8], u32, u32, u128, u64); 5] = [
        (b"", 0, 142593372, 0, 0),
        (
            b"hello",
            613153351,
            3806057185,
            121118445609844952839898260755277781762,
            14688674573012802306,
        ),
        (
            b"foo",
            4138058784,
            2972666014,
            168394135621993849475852668931176482145,
            16316970633193145697,
        ),
        (
            b"The quick brown fox jumps over the lazy dog",
            776992547,
            880582914,
            162514929770263185971448983895935490924,
            16378391709484522348,
        ),
        (
            "привет".as_bytes(),
            993413998,
            2258861345,
            196326022684855143474135269908981542531,
            4218789751818088067,
        ),
    ];

    #[test]
    fn murmur3_32_matches_python_mmh3() {
        for (input, unseeded, seeded, _, _) in MMH3 {
            assert_eq!(murmur3_32(input, 0), unseeded, "input {input:?}");
            assert_eq!(murmur3_32(input, 42), seeded, "input {input:?} seed 42");
        }
    }

    #[test]
    fn murmur3_128_matches_python_mmh3() {
        for (input, _, _, wide, _) in MMH3 {
            assert_eq!(murmur3_128(input, 0), wide, "input {input:?}");
        }
    }

    #[test]
    fn murmur3_64_is_the_first_half_of_the_128_bit_hash_as_mmh3_reports_it() {
        for (input, _, _, wide, half) in MMH3 {
            assert_eq!(murmur3_64(input, 0), half, "input {input:?}");
            assert_eq!(u128::from(half), wide & u128::from(u64::MAX));
        }
    }
}
