//! A small deterministic mutator for the smoke run: the inputs of a run are a function of the
//! seed and their index alone, so any input it reports can be made again with `smoke --replay`.

/// xorshift64*: fast, seedable, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Values that sit on the edges parsers get wrong: zero, sign bits, all ones, sizes near the
/// limits of 32 and 64 bits.
const INTERESTING: [u64; 12] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    1 << 40,
    i64::MAX as u64,
    u64::MAX,
];

/// Text that breaks numbers in JSON and TOML: huge, negative, non-finite, empty.
const NUMBERS: [&str; 8] = [
    "-1",
    "0",
    "1e999",
    "-1e999",
    "nan",
    "99999999999999999999",
    "4294967296",
    "",
];

/// One to four stacked mutations of `input`, at most `max_len` bytes long.
pub fn mutate(input: &[u8], rng: &mut Rng, max_len: usize) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        mutate_once(&mut out, rng);
    }
    out.truncate(max_len);
    out
}

fn mutate_once(b: &mut Vec<u8>, rng: &mut Rng) {
    if b.is_empty() {
        b.push(rng.next_u64() as u8);
        return;
    }
    let at = rng.below(b.len());
    match rng.below(8) {
        0 => b[at] ^= 1 << rng.below(8),
        1 => b[at] = rng.next_u64() as u8,
        2 => overwrite_interesting(b, at, rng),
        3 => {
            let end = (at + 1 + rng.below(64)).min(b.len());
            b.drain(at..end);
        }
        4 => {
            let end = (at + 1 + rng.below(64)).min(b.len());
            let chunk = b[at..end].to_vec();
            let to = rng.below(b.len() + 1);
            b.splice(to..to, chunk);
        }
        5 => b.truncate(at),
        6 => replace_number(b, at, rng),
        _ => {
            let bytes: Vec<u8> = (0..1 + rng.below(16))
                .map(|_| rng.next_u64() as u8)
                .collect();
            b.splice(at..at, bytes);
        }
    }
}

/// Writes an interesting value as 1, 2, 4 or 8 bytes, little or big endian.
fn overwrite_interesting(b: &mut [u8], at: usize, rng: &mut Rng) {
    let v = INTERESTING[rng.below(INTERESTING.len())];
    let width = 1 << rng.below(4);
    let bytes = if rng.below(2) == 0 {
        v.to_le_bytes()
    } else {
        v.to_be_bytes()
    };
    let bytes = if rng.below(2) == 0 {
        &bytes[..width]
    } else {
        &bytes[8 - width..]
    };
    for (i, &x) in bytes.iter().enumerate() {
        if let Some(slot) = b.get_mut(at + i) {
            *slot = x;
        }
    }
}

/// Replaces the run of ASCII digits at or after `at` with a hostile number.
fn replace_number(b: &mut Vec<u8>, at: usize, rng: &mut Rng) {
    let Some(start) = b[at..].iter().position(u8::is_ascii_digit).map(|p| at + p) else {
        return;
    };
    let len = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    let text = NUMBERS[rng.below(NUMBERS.len())].as_bytes();
    b.splice(start..start + len, text.iter().copied());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_inputs() {
        let seed = b"{\"scale\": 1.5, \"joints\": [[1, 2]]}";
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(mutate(seed, &mut a, 1 << 16), mutate(seed, &mut b, 1 << 16));
        }
    }

    #[test]
    fn mutations_change_the_input_and_respect_the_length_cap() {
        let seed = vec![b'7'; 100];
        let mut rng = Rng::new(1);
        let changed = (0..200)
            .filter(|_| {
                let m = mutate(&seed, &mut rng, 120);
                assert!(m.len() <= 120);
                m != seed
            })
            .count();
        assert!(changed > 150, "only {changed} of 200 mutants differ");
    }

    #[test]
    fn numbers_are_replaced_whole() {
        let mut b = b"a 12345 b".to_vec();
        let mut rng = Rng::new(3);
        replace_number(&mut b, 0, &mut rng);
        let s = String::from_utf8(b).unwrap();
        assert!(s.starts_with("a ") && s.ends_with(" b"), "{s}");
        assert!(!s.contains("12345"), "{s}");
    }
}
