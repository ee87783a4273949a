//! The inference network as an ONNX graph: every BatchNorm (eval statistics) folded into the
//! conv before it, the kernel tensor factorized (or plain conv weights with `dense`), the
//! hourglass recursion unrolled, and the last stack's output (or every stack's).

use candle_core::Var;
use tnet_hourglass::{BN_EPS, Head, HourglassConfig, KernelMode, TNet};

use crate::graph::{Attr, Dim, Graph, f32_value};
use crate::kernels::{layer_kernels, var_data};
use crate::onnx::{ModelProto, OperatorSetIdProto};
use crate::{ExportError, OnnxOptions};

/// The input's name in every exported graph.
pub const INPUT: &str = "image";

/// Builds the model of `net` (eval mode) as `opts` asks.
pub fn onnx_model(net: &TNet, opts: &OnnxOptions) -> Result<ModelProto, ExportError> {
    if opts.opset < 13 {
        return Err(ExportError::Unsupported(format!(
            "opset {} (the graph needs 13 or later: Split and Squeeze take their sizes as inputs)",
            opts.opset
        )));
    }
    let cfg = net.config();
    let mut b = NetGraph {
        g: Graph::default(),
        net,
        kernels: vec![],
        scales_x2: None,
    };
    b.kernels = b.layer_kernels(opts.dense)?;
    let outputs = b.forward(cfg)?;
    let batch = match opts.batch {
        Some(n) => Dim::Fixed(n),
        None => Dim::Named("batch"),
    };
    let s = cfg.input_size;
    let channels = cfg.head.channels();
    let side = match cfg.head {
        Head::Pose { .. } => s / 4,
        Head::Segmentation { .. } => s,
    };
    let chosen: Vec<(usize, String)> = if opts.all_stacks {
        outputs.into_iter().enumerate().collect()
    } else {
        let last = outputs.len() - 1;
        outputs.into_iter().skip(last).map(|o| (last, o)).collect()
    };
    let mut out_values = vec![];
    for (k, value) in chosen {
        let name = if opts.all_stacks {
            format!("stack{k}")
        } else {
            "heatmaps".to_string()
        };
        b.g.output_as(&value, &name);
        let dims = [
            batch,
            Dim::Fixed(channels),
            Dim::Fixed(side),
            Dim::Fixed(side),
        ];
        out_values.push(f32_value(&name, &dims));
    }
    let input = f32_value(INPUT, &[batch, Dim::Fixed(3), Dim::Fixed(s), Dim::Fixed(s)]);
    let graph = b.g.finish("tnet", vec![input], out_values);
    Ok(ModelProto {
        // IR version 8 goes with opsets 17-18; the runtimes accept it for 13-16 too.
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opts.opset),
        }],
        producer_name: Some("tnet".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        ..Default::default()
    })
}

/// The graph of one network under construction.
struct NetGraph<'a> {
    g: Graph,
    net: &'a TNet,
    /// The value names of the tensorized layers' kernels, in flat layer order.
    kernels: Vec<String>,
    /// The `Resize` scales `(1, 1, 2, 2)`, one initializer for every upsampling.
    scales_x2: Option<String>,
}

/// A conv's weight and bias after folding its BatchNorm: `w * s`, `beta - mean * s` (plus the
/// conv's own bias times `s`) with `s = gamma / sqrt(var + eps)` per output channel.
struct Folded {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl<'a> NetGraph<'a> {
    fn param(&self, name: &str) -> Result<&'a Var, ExportError> {
        self.net
            .params()
            .get(name)
            .ok_or_else(|| ExportError::MissingTensor(name.to_string()))
    }

    fn data(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ExportError> {
        var_data(self.param(name)?)
    }

    fn batch_norm(&self, bn: &str) -> Result<Folded, ExportError> {
        let (_, gamma) = self.data(&format!("{bn}.weight"))?;
        let (_, beta) = self.data(&format!("{bn}.bias"))?;
        let (_, mean) = self.data(&format!("{bn}.running_mean"))?;
        let (_, var) = self.data(&format!("{bn}.running_var"))?;
        let scale: Vec<f32> = gamma
            .iter()
            .zip(&var)
            .map(|(g, v)| (*g as f64 / (*v as f64 + BN_EPS).sqrt()) as f32)
            .collect();
        let shift = beta
            .iter()
            .zip(&mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        Ok(Folded { scale, shift })
    }

    /// The kernels of the tensorized layers: factorized with the reconstruction in the graph,
    /// or (dense) reconstructed here.
    fn layer_kernels(&mut self, dense: bool) -> Result<Vec<String>, ExportError> {
        let cfg = self.net.config();
        let shape = cfg.tensor_shape();
        let kernel_dims = [shape[4], shape[5], shape[6], shape[7]];
        if !dense {
            return layer_kernels(
                &mut self.g,
                self.net.tensor(),
                cfg.layer_count(),
                kernel_dims,
            );
        }
        let kernels = self.net.kernels(KernelMode::Eval)?;
        (0..cfg.layer_count())
            .map(|l| {
                let t = kernels.get(l);
                let data = t
                    .to_dtype(candle_core::DType::F32)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                Ok(self.g.f32_init(&format!("kernel.{l}"), &kernel_dims, data))
            })
            .collect()
    }

    /// `Conv(x, w * scale) + shift` with the weight given as an initializer named `weight`.
    fn conv_folded(
        &mut self,
        x: &str,
        weight: &str,
        bias: Option<&str>,
        bn: Option<&str>,
        stride: usize,
    ) -> Result<String, ExportError> {
        let (dims, mut w) = self.data(weight)?;
        let c_out = dims[0];
        let per = w.len() / c_out.max(1);
        let mut b = match bias {
            Some(name) => self.data(name)?.1,
            None => vec![0.0; c_out],
        };
        if let Some(bn) = bn {
            let f = self.batch_norm(bn)?;
            for c in 0..c_out {
                w[c * per..(c + 1) * per]
                    .iter_mut()
                    .for_each(|v| *v *= f.scale[c]);
                b[c] = b[c] * f.scale[c] + f.shift[c];
            }
        }
        let w_name = self.g.f32_init(&format!("{weight}:folded"), &dims, w);
        let b_name = self.g.f32_init(&format!("{weight}:bias"), &[c_out], b);
        Ok(self.conv(x, &w_name, &b_name, dims[2], stride))
    }

    fn conv(&mut self, x: &str, w: &str, b: &str, k: usize, stride: usize) -> String {
        let p = (k / 2) as i64;
        self.g.node(
            "Conv",
            &[x, w, b],
            vec![
                ("kernel_shape", Attr::Ints(vec![k as i64, k as i64])),
                ("pads", Attr::Ints(vec![p, p, p, p])),
                ("strides", Attr::Ints(vec![stride as i64, stride as i64])),
            ],
        )
    }

    fn relu(&mut self, x: &str) -> String {
        self.g.node("Relu", &[x], vec![])
    }

    fn conv_bn_relu(&mut self, x: &str, name: &str, stride: usize) -> Result<String, ExportError> {
        let y = self.conv_folded(
            x,
            &format!("{name}.conv.weight"),
            None,
            Some(&format!("{name}.bn")),
            stride,
        )?;
        Ok(self.relu(&y))
    }

    fn pool(&mut self, x: &str) -> String {
        self.g.node(
            "MaxPool",
            &[x],
            vec![
                ("kernel_shape", Attr::Ints(vec![2, 2])),
                ("strides", Attr::Ints(vec![2, 2])),
            ],
        )
    }

    fn upsample(&mut self, x: &str) -> String {
        let scales = match &self.scales_x2 {
            Some(name) => name.clone(),
            None => {
                let name = self
                    .g
                    .f32_init("resize_scales_x2", &[4], vec![1.0, 1.0, 2.0, 2.0]);
                self.scales_x2 = Some(name.clone());
                name
            }
        };
        self.g.node(
            "Resize",
            &[x, "", &scales],
            vec![
                ("mode", Attr::Str("nearest".into())),
                (
                    "coordinate_transformation_mode",
                    Attr::Str("asymmetric".into()),
                ),
                ("nearest_mode", Attr::Str("floor".into())),
            ],
        )
    }

    /// A tensorized conv: the layer's kernel scaled by its BatchNorm (a `Mul` of constants,
    /// folded by the runtime), plus the BatchNorm's shift as the conv's bias.
    fn tensor_conv(&mut self, x: &str, layer: usize, bn: &str) -> Result<String, ExportError> {
        let f = self.batch_norm(bn)?;
        let c = f.scale.len();
        let scale = self
            .g
            .f32_init(&format!("{bn}:scale"), &[c, 1, 1, 1], f.scale);
        let shift = self.g.f32_init(&format!("{bn}:shift"), &[c], f.shift);
        let kernel = self.kernels[layer].clone();
        let w = self.g.node("Mul", &[&kernel, &scale], vec![]);
        let k = self.net.config().kernel;
        Ok(self.conv(x, &w, &shift, k, 1))
    }

    /// One basic block: convs with their BatchNorm and ReLU, the last adding the shortcut
    /// before its ReLU.
    fn block(
        &mut self,
        x: &str,
        s: usize,
        n: usize,
        path: (&str, tnet_hourglass::Path),
    ) -> Result<String, ExportError> {
        let cfg = self.net.config();
        let mut y = x.to_string();
        for i in 0..cfg.b_depth {
            let layer = cfg.flat_layer(s, n, path.1, i);
            let bn = format!("stack.{s}.hg.level{n}.{}.bn{i}", path.0);
            y = self.tensor_conv(&y, layer, &bn)?;
            if i + 1 == cfg.b_depth {
                y = self.g.node("Add", &[&y, x], vec![]);
            }
            y = self.relu(&y);
        }
        Ok(y)
    }

    fn hourglass(&mut self, x: &str, s: usize, n: usize) -> Result<String, ExportError> {
        use tnet_hourglass::Path as P;
        let up = self.block(x, s, n, ("skip", P::Skip))?;
        let pooled = self.pool(x);
        let mut low = self.block(&pooled, s, n, ("down", P::Down))?;
        if n > 1 {
            low = self.hourglass(&low, s, n - 1)?;
        }
        low = self.block(&low, s, n, ("up", P::Up))?;
        let upsampled = self.upsample(&low);
        Ok(self.g.node("Add", &[&up, &upsampled], vec![]))
    }

    /// The stem and the stacks; returns every stack's output.
    fn forward(&mut self, cfg: &HourglassConfig) -> Result<Vec<String>, ExportError> {
        let mut h = self.conv_bn_relu(INPUT, "stem.0", 2)?;
        h = self.conv_bn_relu(&h, "stem.1", 1)?;
        h = self.pool(&h);
        h = self.conv_bn_relu(&h, "stem.2", 1)?;
        let mut outputs = vec![];
        for s in 0..cfg.n_stacks {
            let hg = self.hourglass(&h, s, cfg.hg_depth)?;
            let feat = self.conv_bn_relu(&hg, &format!("stack.{s}.feat"), 1)?;
            let head = format!("stack.{s}.head");
            let heat = self.conv_folded(
                &feat,
                &format!("{head}.weight"),
                Some(&format!("{head}.bias")),
                None,
                1,
            )?;
            if s + 1 < cfg.n_stacks {
                let mut merge = |name: &str, x: &str| {
                    let p = format!("stack.{s}.{name}");
                    self.conv_folded(
                        x,
                        &format!("{p}.weight"),
                        Some(&format!("{p}.bias")),
                        None,
                        1,
                    )
                };
                let mf = merge("merge_feat", &feat)?;
                let mh = merge("merge_heat", &heat)?;
                let sum = self.g.node("Add", &[&h, &mf], vec![]);
                h = self.g.node("Add", &[&sum, &mh], vec![]);
            }
            outputs.push(match cfg.head {
                Head::Pose { .. } => heat,
                Head::Segmentation { .. } => {
                    let once = self.upsample(&heat);
                    self.upsample(&once)
                }
            });
        }
        Ok(outputs)
    }
}
