//! Tensor dropout: off at evaluation, unbiased in training.

use candle_core::{DType, Device, Tensor};
use tnet_factorized::{from_ndarray, tucker_dropout, tucker_to_tensor};
use tnet_tensor::random::{SeededRng, random_normal};

#[test]
fn off_in_eval_and_keeps_the_expected_reconstruction_in_training() {
    let dev = Device::Cpu;
    let mut rng = SeededRng::new(5);
    let core = from_ndarray(
        &random_normal::<f64>(&[3, 4, 2], &mut rng).view(),
        DType::F64,
        &dev,
    )
    .unwrap();
    let factors: Vec<Tensor> = [(5, 3), (6, 4), (4, 2)]
        .iter()
        .map(|&(i, r)| {
            from_ndarray(
                &random_normal::<f64>(&[i, r], &mut rng).view(),
                DType::F64,
                &dev,
            )
            .unwrap()
        })
        .collect();
    let full = tucker_to_tensor(&core, &factors).unwrap();
    let p = [0.3, 0.5, 0.0];
    // Evaluation: untouched.
    let (c, f) = tucker_dropout(&core, &factors, &p, false, &mut rng).unwrap();
    assert_eq!(c.dims(), core.dims());
    let same = tucker_to_tensor(&c, &f).unwrap();
    assert_eq!(
        same.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
        full.flatten_all().unwrap().to_vec1::<f64>().unwrap()
    );
    // Training: smaller cores, mode 2 never dropped, the mean over draws close to the full tensor.
    let draws = 4000;
    let mut sum = Tensor::zeros(full.dims(), DType::F64, &dev).unwrap();
    for _ in 0..draws {
        let (c, f) = tucker_dropout(&core, &factors, &p, true, &mut rng).unwrap();
        assert!(c.dim(0).unwrap() >= 1 && c.dim(1).unwrap() >= 1 && c.dim(2).unwrap() == 2);
        assert_eq!(f[0].dim(1).unwrap(), c.dim(0).unwrap());
        sum = (sum + tucker_to_tensor(&c, &f).unwrap()).unwrap();
    }
    let mean = (sum / draws as f64).unwrap();
    let norm = |t: &Tensor| {
        t.sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
            .sqrt()
    };
    let (err, norm) = (norm(&(mean - &full).unwrap()), norm(&full));
    assert!(
        err / norm < 0.08,
        "mean of dropped reconstructions is off by {:.3}",
        err / norm
    );
}
