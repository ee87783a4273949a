//! The rank rule of the layer-by-layer Tucker-2 baseline. The budgets of whole tensors live
//! with their decompositions: `tnet_tucker::ranks_for_compression`,
//! `tnet_cp::rank_for_compression`, `tnet_tt::ranks_for_compression`.

/// Tucker-2 ranks `(r, r, k, k)` for one `(f_out, f_in, k, k)` kernel (the layer-by-layer
/// baseline as in Kim et al. 2016: spatial modes kept whole, the channel modes sharing the
/// largest rank within `prod(I) / ratio`).
pub fn tucker2_ranks_for_compression(layer: &[usize; 4], ratio: f64) -> Result<[usize; 4], String> {
    let (budget, total) =
        tnet_tensor::compression_budget(layer, ratio).map_err(|e| e.to_string())?;
    let ranks = |r: usize| [r.min(layer[0]), r.min(layer[1]), layer[2], layer[3]];
    let params = |r: usize| tnet_tucker::tucker_params(layer, &ranks(r)) as f64;
    if params(1) > budget {
        let best = total / params(1);
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
