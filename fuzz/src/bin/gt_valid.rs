//! AFL target: `tnet_fuzz::gt_valid` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::gt_valid(data));
}
