//! The kernel tensor in the graph: its parts as initializers and the reconstruction as nodes
//! (one `Einsum` per tensor, computed once by the runtime: every input is a constant), then
//! the one split into the layers' 3x3 kernels.

use candle_core::{DType, Var};
use tnet_factorized::FactorizedTensor;

use crate::ExportError;
use crate::graph::Graph;

/// Shape and f32 values (C order) of a variable.
pub(crate) fn var_data(v: &Var) -> Result<(Vec<usize>, Vec<f32>), ExportError> {
    let t = v.as_tensor();
    let data = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    Ok((t.dims().to_vec(), data))
}

fn init_var(g: &mut Graph, name: &str, v: &Var) -> Result<String, ExportError> {
    let (dims, data) = var_data(v)?;
    Ok(g.f32_init(name, &dims, data))
}

fn letter(i: usize) -> char {
    (b'a' + i as u8) as char
}

/// The Einsum equation of a Tucker tensor of order `n`: core `abc..`, factor `k` maps its core
/// letter to an output letter.
fn tucker_equation(n: usize) -> String {
    let core: String = (0..n).map(letter).collect();
    let out: String = (n..2 * n).map(letter).collect();
    let factors: Vec<String> = (0..n)
        .map(|k| format!("{}{}", letter(n + k), letter(k)))
        .collect();
    format!("{core},{}->{out}", factors.join(","))
}

/// CP of order `n`: weights `z`, factor `k` is `(mode k, z)`.
fn cp_equation(n: usize) -> String {
    let out: String = (0..n).map(letter).collect();
    let factors: Vec<String> = (0..n).map(|k| format!("{}z", letter(k))).collect();
    format!("z,{}->{out}", factors.join(","))
}

/// TT of order `n`: core `k` is `(rank k, mode k, rank k+1)`, ranks lettered from `q`.
fn tt_equation(n: usize) -> String {
    let rank = |k: usize| (b'q' + k as u8) as char;
    let out: String = (0..n).map(letter).collect();
    let cores: Vec<String> = (0..n)
        .map(|k| format!("{}{}{}", rank(k), letter(k), rank(k + 1)))
        .collect();
    format!("{}->{out}", cores.join(","))
}

/// Adds the parts of a (non-sliced) factorized tensor under `prefix` and the node that
/// reconstructs it; returns the full tensor's value name.
fn reconstruct(g: &mut Graph, t: &FactorizedTensor, prefix: &str) -> Result<String, ExportError> {
    let einsum = |g: &mut Graph, inputs: Vec<String>, eq: String| {
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        g.node(
            "Einsum",
            &refs,
            vec![("equation", crate::graph::Attr::Str(eq))],
        )
    };
    Ok(match t {
        FactorizedTensor::Dense { full } => init_var(g, &format!("{prefix}.full"), full)?,
        FactorizedTensor::Tucker { core, factors } => {
            let mut inputs = vec![init_var(g, &format!("{prefix}.core"), core)?];
            for (k, f) in factors.iter().enumerate() {
                inputs.push(init_var(g, &format!("{prefix}.factors.{k}"), f)?);
            }
            einsum(g, inputs, tucker_equation(factors.len()))
        }
        FactorizedTensor::Cp { weights, factors } => {
            let mut inputs = vec![init_var(g, &format!("{prefix}.weights"), weights)?];
            for (k, f) in factors.iter().enumerate() {
                inputs.push(init_var(g, &format!("{prefix}.factors.{k}"), f)?);
            }
            einsum(g, inputs, cp_equation(factors.len()))
        }
        FactorizedTensor::Tt { cores } => {
            let mut inputs = vec![];
            for (k, c) in cores.iter().enumerate() {
                inputs.push(init_var(g, &format!("{prefix}.cores.{k}"), c)?);
            }
            einsum(g, inputs, tt_equation(cores.len()))
        }
        FactorizedTensor::Slices { .. } => {
            return Err(ExportError::Unsupported(
                "a sliced tensor inside a sliced tensor".into(),
            ));
        }
    })
}

/// The value names of the `layers` kernels `(f_out, f_in, h, w)`, in flat layer order.
pub(crate) fn layer_kernels(
    g: &mut Graph,
    t: &FactorizedTensor,
    layers: usize,
    kernel_dims: [usize; 4],
) -> Result<Vec<String>, ExportError> {
    if let FactorizedTensor::Slices { slices, .. } = t {
        if slices.len() != layers {
            return Err(ExportError::Unsupported(format!(
                "{} per-layer tensors for {layers} layers",
                slices.len()
            )));
        }
        return slices
            .iter()
            .enumerate()
            .map(|(l, s)| reconstruct(g, s, &format!("tensor.slices.{l}")))
            .collect();
    }
    let full = reconstruct(g, t, "tensor")?;
    let [o, i, h, w] = kernel_dims.map(|d| d as i64);
    let shape = g.i64_init("layers_shape", &[layers as i64, o, i, h, w]);
    let stacked = g.node("Reshape", &[&full, &shape], vec![]);
    let sizes = g.i64_init("split_sizes", &vec![1; layers]);
    let parts = g.node_n("Split", &[&stacked, &sizes], layers, vec![]);
    let axes = g.i64_init("axis0", &[0]);
    Ok(parts
        .iter()
        .map(|p| g.node("Squeeze", &[p, &axes], vec![]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equations_name_every_mode_once_per_operand() {
        assert_eq!(tucker_equation(2), "ab,ca,db->cd");
        assert_eq!(cp_equation(3), "z,az,bz,cz->abc");
        assert_eq!(tt_equation(3), "qar,rbs,sct->abc");
    }
}
