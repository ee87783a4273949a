//! `cargo bench decompositions`: the standard problems of the TensorLy comparison (float64,
//! low rank plus 1 % noise), timed by criterion. `cargo xtask bench-decomp --vs tensorly`
//! runs the same problems against TensorLy and prints the ratio table.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::ArrayD;
use tnet_cp::random_cp;
use tnet_cp::{ParafacOptions, parafac};
use tnet_tensor::random::{SeededRng, add_noise};
use tnet_tt::random_tt;
use tnet_tt::{TtRank, tensor_train};
use tnet_tucker::random_tucker;
use tnet_tucker::{TuckerOptions, TuckerRank, tucker};

fn noisy(mut x: ArrayD<f64>, rng: &mut SeededRng) -> ArrayD<f64> {
    add_noise(&mut x, 0.01, rng);
    x
}

fn decompositions(c: &mut Criterion) {
    tnet_cpu::process::tune_glibc_malloc();
    let mut g = c.benchmark_group("decompositions");
    g.sample_size(10);
    let mut rng = SeededRng::new(1000);

    type Case = (&'static str, Vec<usize>, Vec<usize>, TuckerOptions<f64>);
    let tucker_cases: Vec<Case> = vec![
        (
            "tucker_64^3_r16",
            vec![64; 3],
            vec![16; 3],
            TuckerOptions::default(),
        ),
        (
            "tucker_128^3_r32",
            vec![128; 3],
            vec![32; 3],
            TuckerOptions::default(),
        ),
        (
            "tucker_128^3_r32_10sweeps",
            vec![128; 3],
            vec![32; 3],
            TuckerOptions {
                n_iter_max: 10,
                tol: 0.0,
                ..Default::default()
            },
        ),
        (
            "tucker_2x4x3x3x32x32x3x3",
            vec![2, 4, 3, 3, 32, 32, 3, 3],
            vec![2, 4, 3, 3, 16, 16, 3, 3],
            TuckerOptions::default(),
        ),
    ];
    for (name, shape, ranks, opts) in tucker_cases {
        let x = noisy(
            random_tucker::<f64>(&shape, &ranks, &mut rng)
                .unwrap()
                .to_tensor(),
            &mut rng,
        );
        let rank = TuckerRank::Ranks(ranks);
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| tucker(&x.view(), &rank, &opts).unwrap())
        });
    }
    for n in [64, 128] {
        let x = noisy(
            random_cp::<f64>(&[n; 3], 16, &mut rng).unwrap().to_tensor(),
            &mut rng,
        );
        let opts = ParafacOptions {
            n_iter_max: 100,
            tol: 0.0,
            ..Default::default()
        };
        g.bench_function(
            BenchmarkId::from_parameter(format!("cp_{n}^3_r16_100it")),
            |b| b.iter(|| parafac(&x.view(), 16, &opts).unwrap()),
        );
    }
    let x = noisy(
        random_tt::<f64>(&[64; 3], &[1, 16, 16, 1], &mut rng)
            .unwrap()
            .to_tensor(),
        &mut rng,
    );
    g.bench_function(BenchmarkId::from_parameter("tt_64^3_r16"), |b| {
        b.iter(|| tensor_train(&x.view(), &TtRank::Ranks(vec![1, 16, 16, 1])).unwrap())
    });
    let x = noisy(
        random_tt::<f64>(&[4; 10], &[1, 4, 8, 8, 8, 8, 8, 8, 8, 4, 1], &mut rng)
            .unwrap()
            .to_tensor(),
        &mut rng,
    );
    g.bench_function(BenchmarkId::from_parameter("tt_4^10_r8"), |b| {
        b.iter(|| tensor_train(&x.view(), &TtRank::Max(8)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, decompositions);
criterion_main!(benches);
