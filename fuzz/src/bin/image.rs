//! AFL target: `tnet_fuzz::image` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::image(data));
}
