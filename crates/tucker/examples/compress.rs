//! Compress a noisy low-rank tensor 10x with Tucker (HOOI):
//! `cargo run --release -p tnet-tucker --example compress`.

use tnet_tensor::Factorized;
use tnet_tensor::random::{SeededRng, add_noise};
use tnet_tucker::random_tucker;
use tnet_tucker::{TuckerOptions, TuckerRank, tucker};

fn main() -> Result<(), tnet_tucker::TensorError> {
    let mut rng = SeededRng::new(0);
    let mut x = random_tucker::<f64>(&[40, 50, 60], &[6, 7, 8], &mut rng)
        .unwrap()
        .to_tensor();
    add_noise(&mut x, 0.01, &mut rng);
    let fit = tucker(
        &x.view(),
        &TuckerRank::Compression(10.0),
        &TuckerOptions::default(),
    )?;
    println!(
        "Tucker ranks {:?}: {:.1}x smaller, relative error {:.2e}, {} sweeps",
        fit.tucker.rank(),
        fit.tucker.compression_ratio(),
        fit.tucker.relative_error(&x.view())?,
        fit.iterations
    );
    Ok(())
}
