//! The upsampling's values and its gradient when its input has another consumer.

use candle_core::{Device, Tensor, Var};
use tnet_hourglass::ops::upsample_nearest2x;

#[test]
fn upsampling_values_and_accumulated_gradient_by_hand() {
    let dev = Device::Cpu;
    // x: 1 x 1 x 2 x 2 = [[1, 2], [3, 4]].
    let x = Var::from_tensor(&Tensor::new(&[[[[1f64, 2.], [3., 4.]]]], &dev).unwrap()).unwrap();
    let y = upsample_nearest2x(x.as_tensor()).unwrap();
    assert_eq!(
        y.squeeze(0)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2::<f64>()
            .unwrap(),
        vec![
            vec![1., 1., 2., 2.],
            vec![1., 1., 2., 2.],
            vec![3., 3., 4., 4.],
            vec![3., 3., 4., 4.]
        ]
    );
    // loss = sum(y * m) + sum(x * n): x also feeds the second term (the hourglass pattern).
    let m = Tensor::arange(0f64, 16., &dev)
        .unwrap()
        .reshape((1, 1, 4, 4))
        .unwrap();
    let n = Tensor::new(&[[[[100f64, 200.], [300., 400.]]]], &dev).unwrap();
    let loss = (y.mul(&m).unwrap().sum_all().unwrap()
        + x.as_tensor().mul(&n).unwrap().sum_all().unwrap())
    .unwrap();
    let grads = loss.backward().unwrap();
    let g = grads
        .get(x.as_tensor())
        .unwrap()
        .squeeze(0)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec2::<f64>()
        .unwrap();
    // Each input pixel receives the sum of m over its 2 x 2 block plus n:
    // top-left 0+1+4+5 = 10, top-right 2+3+6+7 = 18, bottom-left 8+9+12+13 = 42, bottom-right 50.
    assert_eq!(g, vec![vec![110., 218.], vec![342., 450.]]);
}
