//! AFL target: `tnet_fuzz::mat` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::mat(data));
}
