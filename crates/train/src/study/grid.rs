//! The study's grid: which networks each table trains, as configuration overrides.

use serde::{Deserialize, Serialize};
use tnet_hourglass::MODE_NAMES;

/// The report table a run belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Table {
    /// The learning-rate sweeps, on the tuning split.
    Tune,
    /// Per-mode redundancy: one mode's Tucker rank reduced.
    A,
    /// Methods across compression rates, with full-rank controls.
    B,
    /// Face parsing with the best configurations.
    C,
    /// The data-scarce setting: dense against T-Net Tucker with few training images.
    D,
}

/// Which data a run trains and validates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Split {
    /// The study's data: its training set, and the validation set the report is about.
    Main,
    /// A separately seeded synthetic set (training and validation) for choosing learning
    /// rates, so that no reported number was selected on the set it is reported on.
    Tuning,
    /// The first [`Budget::scarce_train`](super::Budget) images of the main training set,
    /// validated on the main validation set.
    Scarce,
}

/// How a run is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RunKind {
    /// Trained from scratch with the overrides.
    Train,
    /// The kernel tensor of run `from` (dense, same seed) decomposed by Tucker (HOOI) at this
    /// compression, then fine-tuned.
    CompressFinetune { from: String, compression: f64 },
}

/// One cell of the grid (trained once per seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    /// Unique and file-name safe: the run folders are `runs/<id>-s<seed>`.
    pub id: String,
    pub table: Table,
    /// The method (one line in the plot): "dense", "T-Net Tucker", "per-layer CP", ...
    pub method: String,
    /// What varies within the method: "10x", "f_out rank 16", ...
    pub detail: String,
    /// `pose` or `faceseg`.
    pub task: String,
    /// Model overrides (`model.param="tucker"`, `model.compression=10.0`, ...).
    pub model: Vec<String>,
    pub kind: RunKind,
    pub split: Split,
    /// The method whose tuned learning rate the run trains with (`dense`, `tucker`, `cp`,
    /// `tt`, `layer-tucker`, `finetune`); `None` keeps the configured rate (face parsing).
    pub family: Option<String>,
    /// A learning rate fixed by the plan (the tuning runs).
    pub lr: Option<f64>,
}

/// Compression rates of T-Net Tucker in Tables B and D.
pub const TUCKER_RATES: [f64; 3] = [4.0, 10.0, 30.0];
/// The rate of the other methods, the compress-then-fine-tune and the tensor-dropout rows,
/// and of the learning-rate sweeps.
pub const FOCUS_RATE: f64 = 10.0;
/// The `detail` of the full-rank control rows.
pub const FULL_RANK: &str = "full rank";
/// Tensor dropout probability of the dropout row.
pub const DROPOUT: f64 = 0.2;
/// The methods whose learning rate is tuned by training at [`FOCUS_RATE`] (dense at 1x), with
/// their `model.param`; the fine-tuning rate is tuned apart.
pub const FAMILIES: [(&str, &str); 5] = [
    ("dense", "dense"),
    ("T-Net Tucker", "tucker"),
    ("T-Net CP", "cp"),
    ("T-Net TT", "tt"),
    ("per-layer Tucker-2", "layer-tucker"),
];

fn rate_name(c: f64) -> String {
    format!("{c}x")
}

fn table_tag(t: Table) -> &'static str {
    match t {
        Table::Tune => "T",
        Table::A => "A",
        Table::B => "B",
        Table::C => "C",
        Table::D => "D",
    }
}

/// A run trained from scratch with `model` overrides, tuned as `family`.
fn planned(table: Table, id: &str, method: &str, detail: &str, family: &str) -> Planned {
    Planned {
        id: format!("{}-{id}", table_tag(table)),
        table,
        method: method.into(),
        detail: detail.into(),
        task: "pose".into(),
        model: vec![format!("model.param=\"{family}\"")],
        kind: RunKind::Train,
        split: if table == Table::D {
            Split::Scarce
        } else {
            Split::Main
        },
        family: Some(family.into()),
        lr: None,
    }
}

fn at_rate(table: Table, method: &str, family: &str, c: f64) -> Planned {
    let mut p = planned(
        table,
        &format!("{family}-{}", rate_name(c)),
        method,
        &rate_name(c),
        family,
    );
    p.model.push(format!("model.compression={c:?}"));
    p
}

fn full_rank(table: Table, method: &str, family: &str, ranks: &[usize]) -> Planned {
    let mut p = planned(
        table,
        &format!("{family}-full"),
        method,
        "full rank",
        family,
    );
    p.model.push(format!("model.ranks={ranks:?}"));
    p
}

/// The dense baseline of `table`.
pub fn dense(table: Table, task: &str) -> Planned {
    let mut p = planned(table, "dense", "dense", "1x", "dense");
    p.task = task.into();
    p
}

/// The TT ranks of an exact train: `r_k = min(prod I_1..I_k, prod I_k+1..I_N)`.
pub fn full_tt_ranks(shape: &[usize]) -> Vec<usize> {
    (0..=shape.len())
        .map(|k| tnet_tt::budget::max_rank(shape, k))
        .collect()
}

/// Table B: dense; T-Net Tucker at full rank and at 4, 10, 30x; T-Net CP at 10x; T-Net TT and
/// per-layer Tucker-2 at full rank and at 10x; the dense run's tensor compressed by HOOI at
/// 10x and fine-tuned; T-Net Tucker at 10x with tensor dropout. The full-rank rows are the
/// controls that separate the cost of a parametrization from the cost of compression.
pub fn table_b(task: &str, shape: &[usize; 8]) -> Vec<Planned> {
    let t = Table::B;
    let mut runs = vec![
        dense(t, task),
        full_rank(t, "T-Net Tucker", "tucker", shape),
    ];
    for c in TUCKER_RATES {
        runs.push(at_rate(t, "T-Net Tucker", "tucker", c));
    }
    runs.push(at_rate(t, "T-Net CP", "cp", FOCUS_RATE));
    runs.push(full_rank(t, "T-Net TT", "tt", &full_tt_ranks(shape)));
    runs.push(at_rate(t, "T-Net TT", "tt", FOCUS_RATE));
    runs.push(full_rank(
        t,
        "per-layer Tucker-2",
        "layer-tucker",
        &shape[4..],
    ));
    runs.push(at_rate(t, "per-layer Tucker-2", "layer-tucker", FOCUS_RATE));
    runs.push(compress_finetune(t, "B-dense"));
    let mut dropout = at_rate(t, "T-Net Tucker + tensor dropout", "tucker", FOCUS_RATE);
    dropout.id = format!("B-tucker-dropout-{}", rate_name(FOCUS_RATE));
    dropout
        .model
        .push(format!("model.tensor_dropout={DROPOUT:?}"));
    runs.push(dropout);
    for r in &mut runs {
        r.task = task.into();
    }
    runs
}

/// The dense run `from` (same seed) decomposed by HOOI at [`FOCUS_RATE`] and fine-tuned.
fn compress_finetune(table: Table, from: &str) -> Planned {
    Planned {
        id: format!(
            "{}-compress-finetune-{}",
            table_tag(table),
            rate_name(FOCUS_RATE)
        ),
        table,
        method: "dense, HOOI, fine-tuned".into(),
        detail: rate_name(FOCUS_RATE),
        task: "pose".into(),
        model: vec![],
        kind: RunKind::CompressFinetune {
            from: from.into(),
            compression: FOCUS_RATE,
        },
        split: Split::Main,
        family: Some("finetune".into()),
        lr: None,
    }
}

/// Table D, the data-scarce setting: dense and T-Net Tucker at full rank, 4x and 10x.
pub fn table_d(task: &str, shape: &[usize; 8]) -> Vec<Planned> {
    let t = Table::D;
    let mut runs = vec![
        dense(t, task),
        full_rank(t, "T-Net Tucker", "tucker", shape),
    ];
    for c in &TUCKER_RATES[..2] {
        runs.push(at_rate(t, "T-Net Tucker", "tucker", *c));
    }
    for r in &mut runs {
        r.task = task.into();
    }
    runs
}

fn lr_name(lr: f64) -> String {
    format!("lr{lr:e}")
}

/// The learning-rate sweeps on the tuning split: every method of [`FAMILIES`] (at
/// [`FOCUS_RATE`], dense at 1x) at each rate of `lrs`.
pub fn tuning(task: &str, lrs: &[f64]) -> Vec<Planned> {
    let mut runs = vec![];
    for (method, family) in FAMILIES {
        for &lr in lrs {
            let mut p = if family == "dense" {
                dense(Table::Tune, task)
            } else {
                at_rate(Table::Tune, method, family, FOCUS_RATE)
            };
            p.id = format!("{}-{}", p.id, lr_name(lr));
            p.split = Split::Tuning;
            p.lr = Some(lr);
            p.task = task.into();
            runs.push(p);
        }
    }
    runs
}

/// The fine-tuning sweep: the tuning split's dense run `from` compressed at [`FOCUS_RATE`]
/// and fine-tuned at each rate of `lrs`.
pub fn tuning_finetune(task: &str, from: &str, lrs: &[f64]) -> Vec<Planned> {
    lrs.iter()
        .map(|&lr| {
            let mut p = compress_finetune(Table::Tune, from);
            p.id = format!("{}-{}", p.id, lr_name(lr));
            p.split = Split::Tuning;
            p.lr = Some(lr);
            p.task = task.into();
            p
        })
        .collect()
}

/// The rank Table A gives a mode of size `size`: about half (none for a mode of size 1).
pub fn reduced_rank(size: usize) -> Option<usize> {
    (size > 1).then(|| size.div_ceil(2))
}

/// Table A: for each mode, the Tucker network with that mode's rank halved and every other
/// mode at full rank.
pub fn table_a(task: &str, shape: &[usize; 8]) -> Vec<Planned> {
    let mut runs = vec![];
    for (mode, &size) in shape.iter().enumerate() {
        if let Some(r) = reduced_rank(size) {
            let mut ranks = shape.to_vec();
            ranks[mode] = r;
            let detail = format!("{} rank {r} of {size}", MODE_NAMES[mode]);
            let mut p = planned(
                Table::A,
                &format!("{}-r{r}", MODE_NAMES[mode]),
                "T-Net Tucker, one mode reduced",
                &detail,
                "tucker",
            );
            p.model.push(format!("model.ranks={ranks:?}"));
            p.task = task.into();
            runs.push(p);
        }
    }
    runs
}

/// Table C: face parsing, dense and the given configurations of Table B (their model overrides).
pub fn table_c(best: &[&Planned]) -> Vec<Planned> {
    let mut face_dense = dense(Table::C, "faceseg");
    face_dense.family = None;
    let mut runs = vec![face_dense];
    for b in best {
        runs.push(Planned {
            id: b.id.replacen("B-", "C-", 1),
            table: Table::C,
            method: b.method.clone(),
            detail: b.detail.clone(),
            task: "faceseg".into(),
            model: b.model.clone(),
            kind: RunKind::Train,
            split: Split::Main,
            family: None,
            lr: None,
        });
    }
    runs
}
