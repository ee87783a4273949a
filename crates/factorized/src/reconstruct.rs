use candle_core::{DType, Device, Result, Tensor};

/// `x ×_mode u` with `u: I x r` (the factor) applied to the mode of size `r`:
/// `out[.., i, ..] = sum_j u[i, j] x[.., j, ..]`, as one matmul on a view with the mode last.
pub fn mode_product(x: &Tensor, u: &Tensor, mode: usize) -> Result<Tensor> {
    if crate::cpu_mode_product::applies(x, u) {
        return crate::cpu_mode_product::mode_product(x, u, mode);
    }
    mode_product_moved(x, u, mode)
}

/// [`mode_product`] with candle's ops: the mode moved last, one matmul, moved back (the
/// reference for the CPU kernel, and the path on other devices and dtypes).
pub fn mode_product_moved(x: &Tensor, u: &Tensor, mode: usize) -> Result<Tensor> {
    let rank = x.rank();
    let last = rank - 1;
    let moved = if mode == last {
        x.clone()
    } else {
        x.transpose(mode, last)?.contiguous()?
    };
    let dims = moved.dims().to_vec();
    let r = dims[last];
    let rows: usize = dims[..last].iter().product();
    let i = u.dim(0)?;
    let out = moved.reshape((rows, r))?.matmul(&u.t()?)?;
    let mut out_dims = dims.clone();
    out_dims[last] = i;
    let out = out.reshape(out_dims)?;
    if mode == last {
        Ok(out)
    } else {
        out.transpose(mode, last)?.contiguous()
    }
}

/// Tucker reconstruction `core ×_0 U_0 ... ×_{N-1} U_{N-1}`, differentiable in all parts.
/// Products are applied least-expanding first, which keeps the intermediates small.
pub fn tucker_to_tensor(core: &Tensor, factors: &[Tensor]) -> Result<Tensor> {
    let mut order: Vec<usize> = (0..factors.len()).collect();
    let ratio =
        |k: usize| -> Result<f64> { Ok(factors[k].dim(0)? as f64 / factors[k].dim(1)? as f64) };
    let ratios = order
        .iter()
        .map(|&k| ratio(k))
        .collect::<Result<Vec<_>>>()?;
    order.sort_by(|&a, &b| ratios[a].total_cmp(&ratios[b]));
    let mut x = core.clone();
    for k in order {
        x = mode_product(&x, &factors[k], k)?;
    }
    Ok(x)
}

/// CP reconstruction `sum_r w_r U_0[:, r] ∘ .. ∘ U_{N-1}[:, r]`: the modes are split in two
/// runs `0..m` and `m..N` (the split with the smallest Khatri-Rao products), each run's
/// Khatri-Rao product is built mode by mode (`(prod I, R)`), and the tensor is one matmul
/// `(KR_left * w) KR_right^T`. Building the whole `(prod I, R)` Khatri-Rao product instead
/// takes `R` times the tensor's memory (600 MB for rank 682 on the small network's tensor).
pub fn cp_to_tensor(weights: &Tensor, factors: &[Tensor]) -> Result<Tensor> {
    let shape: Vec<usize> = factors.iter().map(|f| f.dim(0)).collect::<Result<_>>()?;
    let rank = weights.dim(0)?;
    let khatri_rao = |fs: &[Tensor]| -> Result<Tensor> {
        let mut kr = fs[0].clone(); // (P, R)
        for f in &fs[1..] {
            let (p, q) = (kr.dim(0)?, f.dim(0)?);
            kr = kr
                .unsqueeze(1)?
                .broadcast_mul(&f.unsqueeze(0)?)?
                .reshape((p * q, rank))?;
        }
        Ok(kr)
    };
    if factors.len() == 1 {
        return khatri_rao(factors)?
            .matmul(&weights.unsqueeze(1)?)?
            .reshape(shape);
    }
    let split = (1..factors.len())
        .min_by_key(|&m| {
            shape[..m].iter().product::<usize>() + shape[m..].iter().product::<usize>()
        })
        .unwrap_or(1);
    let left = khatri_rao(&factors[..split])?.broadcast_mul(&weights.unsqueeze(0)?)?;
    let right = khatri_rao(&factors[split..])?;
    left.matmul(&right.t()?)?.reshape(shape)
}

/// Tensor-train reconstruction from cores `(r_{k-1}, I_k, r_k)`.
pub fn tt_to_tensor(cores: &[Tensor]) -> Result<Tensor> {
    let shape: Vec<usize> = cores.iter().map(|c| c.dim(1)).collect::<Result<_>>()?;
    let (r0, i0, r1) = cores[0].dims3()?;
    let mut acc = cores[0].reshape((r0 * i0, r1))?;
    for c in &cores[1..] {
        let (ra, i, rb) = c.dims3()?;
        let next = acc.matmul(&c.reshape((ra, i * rb))?)?;
        let rows = next.dim(0)? * i;
        acc = next.reshape((rows, rb))?;
    }
    acc.reshape(shape)
}

/// An ndarray as a candle tensor of `dtype` on `device`.
pub fn from_ndarray(
    a: &ndarray::ArrayViewD<'_, f64>,
    dtype: DType,
    device: &Device,
) -> Result<Tensor> {
    let data: Vec<f64> = a.iter().copied().collect();
    Tensor::from_vec(data, a.shape(), device)?.to_dtype(dtype)
}
