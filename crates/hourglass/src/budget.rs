//! Parameter counts, reconstruction FLOPs and rank choices for a parameter budget, for CP and
//! tensor-train tensors of any shape (Tucker's live in `tnet-tucker`). The network uses them
//! for its 8th-order tensor and for the per-layer 4th-order kernels of the layer-by-layer
//! baseline.

/// CP parameters: `R` weights plus `R * sum(I_k)` factor entries.
pub fn cp_params(shape: &[usize], rank: usize) -> usize {
    rank + rank * shape.iter().sum::<usize>()
}

/// TT parameters `sum_k r_{k-1} I_k r_k` for ranks `(1, r_1, .., r_{N-1}, 1)`.
pub fn tt_params(shape: &[usize], ranks: &[usize]) -> usize {
    (0..shape.len())
        .map(|k| ranks[k] * shape[k] * ranks[k + 1])
        .sum()
}

/// The largest rank allowed at TT bond `k` (`1..N`): `min(prod I_{<k}, prod I_{>=k})`.
pub fn tt_max_rank(shape: &[usize], k: usize) -> usize {
    let left: usize = shape[..k].iter().product();
    let right: usize = shape[k..].iter().product();
    left.min(right)
}

/// TT ranks `(1, r, .., r, 1)` with each inner rank clamped to what the tensor allows there (as
/// TensorLy clamps).
pub fn tt_uniform_ranks(shape: &[usize], r: usize) -> Vec<usize> {
    let n = shape.len();
    let mut ranks = vec![1; n + 1];
    for (k, rank) in ranks.iter_mut().enumerate().take(n).skip(1) {
        *rank = r.min(tt_max_rank(shape, k));
    }
    ranks
}

fn budget_for(shape: &[usize], ratio: f64) -> Result<f64, String> {
    if !(ratio.is_finite() && ratio >= 1.0) {
        return Err(format!(
            "compression ratio must be a number >= 1, got {ratio}"
        ));
    }
    Ok(shape.iter().map(|&s| s as f64).product::<f64>() / ratio)
}

/// The largest CP rank whose parameters stay within `prod(I) / ratio`.
pub fn cp_rank_for_compression(shape: &[usize], ratio: f64) -> Result<usize, String> {
    let budget = budget_for(shape, ratio)?;
    let per_rank = cp_params(shape, 1) as f64;
    let rank = (budget / per_rank).floor() as usize;
    if rank == 0 {
        let best = budget * ratio / per_rank;
        return Err(format!(
            "compression {ratio} is out of reach for shape {shape:?}: CP rank 1 gives {best:.2}x"
        ));
    }
    Ok(rank)
}

/// TT ranks within `prod(I) / ratio`: the largest uniform `(1, r, .., r, 1)` (clamped), then
/// single bonds grown while the budget allows.
pub fn tt_ranks_for_compression(shape: &[usize], ratio: f64) -> Result<Vec<usize>, String> {
    let budget = budget_for(shape, ratio)?;
    let ones = vec![1; shape.len() + 1];
    if tt_params(shape, &ones) as f64 > budget {
        let best = budget * ratio / tt_params(shape, &ones) as f64;
        return Err(format!(
            "compression {ratio} is out of reach for shape {shape:?}: TT rank 1 gives {best:.2}x"
        ));
    }
    let max = (1..shape.len())
        .map(|k| tt_max_rank(shape, k))
        .max()
        .unwrap_or(1);
    let mut r = 1;
    while r < max && tt_params(shape, &tt_uniform_ranks(shape, r + 1)) as f64 <= budget {
        r += 1;
    }
    // Then grow single bonds, the smallest first, while the budget allows (the uniform rank
    // moves in big steps on small tensors).
    let mut ranks = tt_uniform_ranks(shape, r);
    loop {
        let mut order: Vec<usize> = (1..shape.len())
            .filter(|&k| ranks[k] < tt_max_rank(shape, k))
            .collect();
        order.sort_by_key(|&k| ranks[k]);
        let grown = order.into_iter().find(|&k| {
            let mut trial = ranks.clone();
            trial[k] += 1;
            tt_params(shape, &trial) as f64 <= budget
        });
        match grown {
            Some(k) => ranks[k] += 1,
            None => return Ok(ranks),
        }
    }
}

/// Tucker-2 ranks `(r, r, k, k)` for one `(f_out, f_in, k, k)` kernel (the layer-by-layer
/// baseline as in Kim et al. 2016: spatial modes kept whole, the channel modes sharing the
/// largest rank within `prod(I) / ratio`).
pub fn tucker2_ranks_for_compression(layer: &[usize; 4], ratio: f64) -> Result<[usize; 4], String> {
    let budget = budget_for(layer, ratio)?;
    let ranks = |r: usize| [r.min(layer[0]), r.min(layer[1]), layer[2], layer[3]];
    let params = |r: usize| tnet_tucker::tucker_params(layer, &ranks(r)) as f64;
    if params(1) > budget {
        let best = budget * ratio / params(1);
        return Err(format!(
            "compression {ratio} is out of reach for a {layer:?} kernel with whole spatial modes: \
             channel rank 1 gives {best:.2}x"
        ));
    }
    let mut r = 1;
    while r < layer[0].max(layer[1]) && params(r + 1) <= budget {
        r += 1;
    }
    Ok(ranks(r))
}

/// FLOPs of a Tucker reconstruction by mode products from the core, least expanding first (as
/// `tnet-tensor` orders them).
pub fn tucker_flops(shape: &[usize], ranks: &[usize]) -> f64 {
    let shape: Vec<f64> = shape.iter().map(|&v| v as f64).collect();
    let mut cur: Vec<f64> = ranks.iter().map(|&r| r as f64).collect();
    let mut order: Vec<usize> = (0..shape.len()).collect();
    order.sort_by(|&a, &b| (shape[a] / cur[a]).total_cmp(&(shape[b] / cur[b])));
    let mut flops = 0.0;
    for m in order {
        let size: f64 = cur.iter().product();
        flops += 2.0 * size * shape[m];
        cur[m] = shape[m];
    }
    flops
}

/// FLOPs of a CP reconstruction (one rank-one term per rank over the whole tensor).
pub fn cp_flops(shape: &[usize], rank: usize) -> f64 {
    2.0 * rank as f64 * shape.iter().map(|&v| v as f64).product::<f64>()
}

/// FLOPs of a TT reconstruction, contracting the cores left to right.
pub fn tt_flops(shape: &[usize], ranks: &[usize]) -> f64 {
    let mut rows = shape[0] as f64;
    let mut flops = 0.0;
    for k in 1..shape.len() {
        flops += 2.0 * rows * ranks[k] as f64 * shape[k] as f64 * ranks[k + 1] as f64;
        rows *= shape[k] as f64;
    }
    flops
}
