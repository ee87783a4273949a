//! `cargo bench decompositions`: the decomposition benchmark suite (`tnet_tests::suite`:
//! seeded problems over orders 3-8, cubic and uneven shapes, ranks 1 to full, low rank plus
//! noise and pure noise, f32 and f64), timed by criterion. `cargo xtask bench-decomp --vs
//! tensorly` runs the same problems against TensorLy and prints the ratio table.
//! `cargo bench --bench decompositions -- --test` runs each problem once (CI's quick mode).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::ArrayD;
use tnet_cp::{ParafacOptions, parafac};
use tnet_tensor::Scalar;
use tnet_tests::suite::{Method, Precision, Problem, suite};
use tnet_tt::{TtRank, tensor_train};
use tnet_tucker::{TuckerOptions, TuckerRank, tucker};

/// One decomposition of `x` as the problem asks (fixed sweeps, tolerance 0).
fn decompose<T: Scalar>(p: &Problem, x: &ArrayD<T>) {
    let v = x.view();
    match p.method {
        Method::Tucker => {
            let opts = TuckerOptions {
                n_iter_max: p.n_iter,
                tol: 0.0,
                ..Default::default()
            };
            tucker(&v, &TuckerRank::Ranks(p.rank.clone()), &opts).expect("suite problem");
        }
        Method::Cp => {
            let opts = ParafacOptions {
                n_iter_max: p.n_iter,
                tol: 0.0,
                ..Default::default()
            };
            parafac(&v, p.rank[0], &opts).expect("suite problem");
        }
        Method::Tt => {
            tensor_train(&v, &TtRank::Ranks(p.rank.clone())).expect("suite problem");
        }
    }
}

fn decompositions(c: &mut Criterion) {
    tnet_cpu::process::tune_glibc_malloc();
    let mut g = c.benchmark_group("decompositions");
    g.sample_size(10);
    for p in suite() {
        let x = p.tensor();
        let id = BenchmarkId::from_parameter(&p.name);
        match p.precision {
            Precision::F64 => g.bench_function(id, |b| b.iter(|| decompose(&p, &x))),
            Precision::F32 => {
                let x = x.mapv(|v| v as f32);
                g.bench_function(id, |b| b.iter(|| decompose(&p, &x)))
            }
        };
    }
    g.finish();
}

criterion_group!(benches, decompositions);
criterion_main!(benches);
