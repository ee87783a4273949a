//! AFL target: `tnet_fuzz::npy` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::npy(data));
}
