use std::time::Instant;
use tnet_tensor::random::*;
use tnet_tensor::*;
fn main() {
    if std::env::var("TUNE").is_ok() { tnet_tensor::malloc::tune_glibc_malloc(); }
    let mut rng = SeededRng::new(0);
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(128);
    let x = random_cp::<f64>(&[n, n, n], 16, &mut rng).tensor;
    let opts = tnet_cp::ParafacOptions::<f64> { n_iter_max: 50, tol: 0.0, ..Default::default() };
    for _ in 0..3 {
        let s = Instant::now();
        let f = tnet_cp::parafac(&x.view(), 16, &opts).unwrap();
        println!("parafac 50 it: {:.2} ms/it ({} its)", s.elapsed().as_secs_f64() * 1e3 / 50.0, f.iterations);
    }
    let u: Vec<_> = (0..3).map(|_| random_matrix::<f64>(n, 16, &mut rng)).collect();
    let axes: Vec<RankAxis> = (0..3).map(RankAxis::Mode).collect();
    let views: Vec<_> = u.iter().map(|a| a.view()).collect();
    let mut tz = [0.0f64; 5];
    for _ in 0..20 {
        let s = Instant::now();
        let zr = RankContraction::contract(x.view(), &axes, &[2], &views);
        tz[0] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        let _m0 = RankContraction::contract(zr.data.view(), &zr.axes, &[1], &views).into_matrix();
        tz[1] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        let zl = contract_modes(&x.view(), &[(0, views[0])]);
        tz[2] += s.elapsed().as_secs_f64();
        let s = Instant::now();
        let _z = contract_shared_rank(&zl.view(), 0, 1, &views[1]);
        tz[3] += s.elapsed().as_secs_f64();
    }
    let xm = x.view().into_shape_with_order((n*n, n)).unwrap();
    let xm2 = x.view().into_shape_with_order((n, n*n)).unwrap();
    let mut o1 = ndarray::Array2::<f64>::zeros((n*n, 16));
    let mut o2 = ndarray::Array2::<f64>::zeros((16, n*n));
    let s = Instant::now();
    for _ in 0..20 {
        linalg::gemm(o1.view_mut(), false, xm, views[2], 1.0, faer::Par::rayon(0));
        linalg::gemm(o2.view_mut(), false, views[0].t(), xm2, 1.0, faer::Par::rayon(0));
    }
    println!("prealloc both passes {:.2} ms/it", s.elapsed().as_secs_f64() * 1e3 / 20.0);
    let s = Instant::now();
    for _ in 0..20 {
        let a = linalg::matmul(xm, views[2]);
        let b = linalg::matmul(views[0].t(), xm2);
        std::hint::black_box((a, b));
    }
    println!("alloc both passes {:.2} ms/it", s.elapsed().as_secs_f64() * 1e3 / 20.0);
    println!("zr {:.2} m0 {:.2} zl-gemm {:.2} zl-shared {:.2} (ms)", tz[0]*50.0, tz[1]*50.0, tz[2]*50.0, tz[3]*50.0);
    for _ in 0..3 {
        let s = Instant::now();
        for _ in 0..50 {
            let zr = RankContraction::contract(x.view(), &axes, &[2], &views);
            let _m0 = RankContraction::contract(zr.data.view(), &zr.axes, &[1], &views).into_matrix();
            let _m1 = RankContraction::contract(zr.data.view(), &zr.axes, &[0], &views).into_matrix();
            let zl = RankContraction::contract(x.view(), &axes, &[0, 1], &views);
            let _m2 = zl.into_matrix();
        }
        println!("contractions: {:.2} ms/it", s.elapsed().as_secs_f64() * 1e3 / 50.0);
    }
}
