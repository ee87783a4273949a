//! NumPy's legacy generator, `numpy.random.RandomState(seed)`: the Mersenne Twister (MT19937)
//! and its `random_sample`. TensorLy draws its random initial factors from it (CP's
//! `init='random'`, and the columns of `init='svd'` beyond a mode's size), so with this
//! generator the same seed gives the same starting point, and the same result, as TensorLy.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `numpy.random.RandomState` for a seed below 2^32; larger seeds are split into two 32-bit
/// words, as `RandomState(np.array([low, high], dtype=np.uint32))` seeds.
#[derive(Clone)]
pub struct NumpyRandomState {
    mt: Box<[u32; N]>,
    index: usize,
}

impl std::fmt::Debug for NumpyRandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumpyRandomState")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl NumpyRandomState {
    pub fn new(seed: u64) -> Self {
        match u32::try_from(seed) {
            Ok(s) => Self::from_u32(s),
            Err(_) => Self::from_words(&[seed as u32, (seed >> 32) as u32]),
        }
    }

    /// MT19937's `init_genrand`, which NumPy's integer seeding uses.
    fn from_u32(seed: u32) -> Self {
        let mut mt = Box::new([0u32; N]);
        mt[0] = seed;
        for i in 1..N {
            let prev = mt[i - 1];
            mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { mt, index: N }
    }

    /// MT19937's `init_by_array`, NumPy's seeding from an array of 32-bit words.
    fn from_words(key: &[u32]) -> Self {
        let mut s = Self::from_u32(19_650_218);
        let mt = &mut s.mt;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1];
            mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1];
            mt[i] =
                (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        s
    }

    fn refill(&mut self) {
        let mt = &mut self.mt;
        for k in 0..N {
            let y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            mt[k] = mt[(k + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// The next 32-bit output (tempered).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.refill();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample()`: uniform in `[0, 1)` from 53 bits of two outputs.
    pub fn random_sample(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values printed by NumPy: `np.random.RandomState(seed).random_sample(n)`.
    #[test]
    fn matches_numpy_random_state() {
        let mut r = NumpyRandomState::new(0);
        let first: Vec<f64> = (0..3).map(|_| r.random_sample()).collect();
        assert_eq!(
            first,
            [0.5488135039273248, 0.7151893663724195, 0.6027633760716439]
        );
        let mut r = NumpyRandomState::new(4_294_967_295);
        assert_eq!(r.random_sample(), 0.0976320289940138);
        assert_eq!(r.random_sample(), 0.9123828453026218);
        // Past the first refill of the state (624 words, 312 samples).
        let mut r = NumpyRandomState::new(12345);
        for _ in 0..1000 {
            r.random_sample();
        }
        assert_eq!(r.random_sample(), 0.7976445358842773);
        assert_eq!(r.random_sample(), 0.7227707769807971);
    }

    #[test]
    fn large_seeds_seed_from_two_words() {
        // np.random.RandomState(np.array([1, 1], dtype=np.uint32)).random_sample(2)
        let mut r = NumpyRandomState::new((1u64 << 32) | 1);
        let got = [r.random_sample(), r.random_sample()];
        assert_eq!(got, [0.2309331037176915, 0.5124118614342635]);
    }
}
