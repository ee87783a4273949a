//! Compress a noisy low-rank tensor 10x with a tensor train:
//! `cargo run --release -p tnet-tt --example compress`.

use tnet_tensor::Factorized;
use tnet_tensor::random::{SeededRng, add_noise};
use tnet_tt::random_tt;
use tnet_tt::{TtRank, tensor_train};

fn main() -> Result<(), tnet_tt::TensorError> {
    let mut rng = SeededRng::new(0);
    let mut x = random_tt::<f64>(&[12, 14, 16, 18], &[1, 4, 6, 4, 1], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.01, &mut rng);
    let tt = tensor_train(&x.view(), &TtRank::Compression(10.0))?.tt;
    println!(
        "TT ranks {:?}: {:.1}x smaller, relative error {:.2e}",
        tt.rank(),
        tt.compression_ratio(),
        tt.relative_error(&x.view())?
    );
    Ok(())
}
