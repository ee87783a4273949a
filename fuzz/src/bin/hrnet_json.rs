//! AFL target: `tnet_fuzz::hrnet_json` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::hrnet_json(data));
}
