//! The device check on the CPU: the project's f32 kernels are close to the f64 truth, and the
//! mixed-precision path (f16 convolutions) runs end to end with gradients on every parameter.

use candle_core::{DType, Device};
use tnet_hourglass::{Head, HourglassConfig, NetOptions, Parametrization};
use tnet_train::device_check::check_device;

fn tiny(param: Parametrization) -> HourglassConfig {
    HourglassConfig::new(2, 2, 2, 8, Head::Pose { joints: 4 }, 32, param).unwrap()
}

#[test]
fn f32_kernels_and_f16_convolutions_against_the_f64_truth() {
    for param in [
        Parametrization::Dense,
        Parametrization::Tucker(vec![2, 2, 2, 2, 4, 4, 3, 3]),
        Parametrization::LayerCp(4),
    ] {
        let cfg = tiny(param.clone());
        let f32_opts = NetOptions::default();
        let f16_opts = NetOptions {
            conv_dtype: Some(DType::F16),
            ..NetOptions::default()
        };
        let checks = check_device(
            &cfg,
            4,
            3,
            &[(&Device::Cpu, &f32_opts), (&Device::Cpu, &f16_opts)],
        )
        .unwrap();
        let (f32c, f16c) = (&checks[0], &checks[1]);
        // f32: the loss and the outputs to 1e-5, every gradient within 5 %.
        let dl = (f32c.loss_tested - f32c.loss_reference).abs() / f32c.loss_reference;
        assert!(dl < 1e-5, "{param:?}: loss {dl}");
        for a in &f32c.outputs {
            assert!(a.rel < 1e-5, "{param:?} {a:?}");
        }
        for a in &f32c.grads {
            assert!(a.rel < 5e-2, "{param:?} {a:?}");
        }
        // f16 convolutions: the same function to about f16's precision, and a gradient on
        // every parameter (the casts are in the graph) pointing the same way.
        let dl = (f16c.loss_tested - f16c.loss_reference).abs() / f16c.loss_reference;
        assert!(dl < 1e-2, "{param:?}: loss {dl}");
        for a in &f16c.outputs {
            assert!(a.rel < 2e-2, "{param:?} {a:?}");
        }
        assert_eq!(f16c.grads.len(), f32c.grads.len());
        // (candle's CPU f16 GEMM accumulates in f16: sums with cancellation, such as CP
        // weights' gradients, lose most digits; a GPU accumulates in f32.)
        let mut rels: Vec<f64> = f16c.grads.iter().map(|a| a.rel).collect();
        rels.sort_by(f64::total_cmp);
        assert!(
            rels[rels.len() / 2] < 5e-2,
            "{param:?}: median {}",
            rels[rels.len() / 2]
        );
        for a in &f16c.grads {
            assert!(a.rel < 1.0, "{param:?} {a:?}");
        }
        // The f32 path is closer to the truth than the f16 one overall.
        let total =
            |c: &tnet_train::device_check::DeviceCheck| c.grads.iter().map(|a| a.rel).sum::<f64>();
        assert!(total(f32c) < total(f16c), "{param:?}");
    }
}
