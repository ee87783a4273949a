//! AFL target: `tnet_fuzz::hourglass_json` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::hourglass_json(data));
}
