use std::time::Instant;
use tnet_tensor::random::*;
use tnet_tensor::*;
fn main() {
    tnet_tensor::malloc::tune_glibc_malloc();
    let mut rng = SeededRng::new(0);
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(128);
    let x = random_cp::<f64>(&[n, n, n], 16, &mut rng).tensor;
    let opts = tnet_cp::ParafacOptions::<f64> {
        n_iter_max: 100,
        tol: 0.0,
        ..Default::default()
    };
    for _ in 0..3 {
        let s = Instant::now();
        let f = tnet_cp::parafac(&x.view(), 16, &opts).unwrap();
        println!(
            "parafac 100 it: {:.3} ms/it ({} its)",
            s.elapsed().as_secs_f64() * 1e3 / 100.0,
            f.iterations
        );
    }
    let u: Vec<_> = (0..3)
        .map(|_| random_matrix::<f64>(n, 16, &mut rng))
        .collect();
    let axes: Vec<RankAxis> = (0..3).map(RankAxis::Mode).collect();
    let views: Vec<_> = u.iter().map(|a| a.view()).collect();
    let mut p0 = RankContractionPlan::new(x.shape(), &axes, &[2], 16);
    let mut p1 = RankContractionPlan::new(x.shape(), &axes, &[0, 1], 16);
    let mut q0 = RankContractionPlan::new(p0.shape(), p0.axes(), &[1], 16);
    let mut q1 = RankContractionPlan::new(p0.shape(), p0.axes(), &[0], 16);
    let mut t = [0.0; 4];
    let reps = 200;
    for _ in 0..reps {
        let s = Instant::now();
        let z = p0.run(x.view(), &views);
        t[0] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        std::hint::black_box(q0.run(z.view(), &views).sum());
        std::hint::black_box(q1.run(z.view(), &views).sum());
        t[1] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        std::hint::black_box(p1.run(x.view(), &views).sum());
        t[2] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        let v = linalg::matmul(u[0].t(), u[0].view());
        std::hint::black_box(linalg::solve_sym_right(&u[1].view(), &v.view()).unwrap());
        t[3] += s.elapsed().as_secs_f64();
    }
    let z = p0.run(x.view(), &views).to_owned();
    let s = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(q0.run(z.view(), &views));
    }
    println!(
        "q0 alone {:.4} ms",
        s.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    let s = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(q1.run(z.view(), &views));
    }
    println!(
        "q1 alone {:.4} ms",
        s.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    println!(
        "outer0 {:.3} inner {:.3} outer1 {:.3} gram+solve {:.3} ms",
        t[0] * 1e3 / reps as f64,
        t[1] * 1e3 / reps as f64,
        t[2] * 1e3 / reps as f64,
        t[3] * 1e3 / reps as f64
    );
}
