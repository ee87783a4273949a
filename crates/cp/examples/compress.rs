//! Compress a noisy low-rank tensor 10x with CP: `cargo run --release -p tnet-cp --example compress`.

use tnet_cp::random_cp;
use tnet_cp::{ParafacOptions, parafac, rank_for_compression};
use tnet_tensor::Factorized;
use tnet_tensor::random::{SeededRng, add_noise};

fn main() -> Result<(), tnet_cp::TensorError> {
    let mut rng = SeededRng::new(0);
    let shape = [40, 50, 60];
    let mut x = random_cp::<f64>(&shape, 8, &mut rng).unwrap().to_tensor();
    add_noise(&mut x, 0.01, &mut rng);
    let rank = rank_for_compression(&shape, 10.0)?;
    let fit = parafac(&x.view(), rank, &ParafacOptions::default())?;
    println!(
        "CP rank {rank}: {:.1}x smaller, relative error {:.2e}, {} sweeps",
        fit.cp.compression_ratio(),
        fit.cp.relative_error(&x.view())?,
        fit.iterations
    );
    Ok(())
}
