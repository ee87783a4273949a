use std::time::Instant;
use tnet_tensor::linalg::*;
use tnet_tensor::random::*;
use tnet_tensor::*;
fn t<R>(name: &str, mut f: impl FnMut() -> R) -> R {
    let mut best = f64::MAX;
    let mut r = None;
    for _ in 0..5 {
        let s = Instant::now();
        r = Some(f());
        best = best.min(s.elapsed().as_secs_f64() * 1e3);
    }
    println!("{name:40} {best:8.2} ms");
    r.unwrap()
}
fn main() {
    let mut rng = SeededRng::new(0);
    let x = random_normal::<f64>(&[128, 128, 128], &mut rng);
    let u = random_orthonormal::<f64>(128, 32, &mut rng);
    let xv = x.view();
    for m in 0..3 {
        t(&format!("gram mode {m}"), || {
            mode_gram(&mode_view(&xv, m).unwrap())
        });
    }
    for m in 0..3 {
        t(&format!("x x_{m} U^T"), || {
            contract_modes(&xv, &[(m, u.view())])
        });
    }
    let y = contract_modes(&xv, &[(2, u.view())]);
    t("y(128,128,32) x_1", || {
        contract_modes(&y.view(), &[(1, u.view())])
    });
    let y2 = contract_modes(&y.view(), &[(1, u.view())]);
    t("gram (128 x 1024) mode0", || {
        mode_gram(&mode_view(&y2.view(), 0).unwrap())
    });
    let g = mode_gram(&mode_view(&xv, 0).unwrap());
    t("eigen 128", || sym_eigen(&g.view()).unwrap());
    faer::set_global_parallelism(faer::Par::Seq);
    t("eigen 128 seq", || sym_eigen(&g.view()).unwrap());
    let g64 = g.slice(ndarray::s![..64, ..64]).to_owned();
    t("eigen 64 seq", || sym_eigen(&g64.view()).unwrap());
    t("svd 128x1024 seq", || {
        thin_svd(
            &mode_view(&y2.view(), 0)
                .unwrap()
                .index_axis(ndarray::Axis(0), 0)
                .to_owned()
                .view(),
        )
        .unwrap()
    });
    faer::set_global_parallelism(faer::Par::rayon(0));
    t("eigen 64 par", || sym_eigen(&g64.view()).unwrap());
    let xm = x.view().into_shape_with_order((16384, 128)).unwrap();
    let xm2 = x.view().into_shape_with_order((128, 16384)).unwrap();
    let u16 = random_normal::<f64>(&[128, 16], &mut rng)
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    t("X(16384x128)@U(128x16) par", || matmul(xm, u16.view()));
    t("U^T(16x128)@X(128x16384) par", || matmul(u16.t(), xm2));
    t("ndarray dot X@U", || xm.dot(&u16));
    t("ndarray dot U^T@X", || u16.t().dot(&xm2));
    let mut o = ndarray::Array2::<f64>::zeros((16384, 16));
    t("X@U seq", || {
        gemm(o.view_mut(), false, xm, u16.view(), 1.0, faer::Par::Seq);
    });
    let mut o2 = ndarray::Array2::<f64>::zeros((16, 16384));
    t("U^T@X seq", || {
        gemm(o2.view_mut(), false, u16.t(), xm2, 1.0, faer::Par::Seq);
    });
    t("U^T@X par preallocated", || {
        gemm(o2.view_mut(), false, u16.t(), xm2, 1.0, faer::Par::rayon(0));
    });
    t("X@U par preallocated", || {
        gemm(
            o.view_mut(),
            false,
            xm,
            u16.view(),
            1.0,
            faer::Par::rayon(0),
        );
    });
    t("sum of X (bandwidth)", || xm.sum());
    let a = random_normal::<f64>(&[2048, 2048], &mut rng)
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    let s = t("gemm 2048^3", || matmul(a.view(), a.view()));
    println!(
        "  -> {:.1} GFLOP/s",
        2.0 * 2048f64.powi(3) / 1e9 / 0.0 + 0.0 * s[[0, 0]]
    );
}
#[allow(dead_code)]
fn unused() {}
