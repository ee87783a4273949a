//! AFL target: `tnet_fuzz::config_toml` on each input.
fn main() {
    afl::fuzz!(|data: &[u8]| tnet_fuzz::config_toml(data));
}
