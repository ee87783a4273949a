//! AFL target: `tnet_fuzz::checkpoint` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::checkpoint(data));
}
