//! AFL target: `tnet_fuzz::label_map` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::label_map(data));
}
