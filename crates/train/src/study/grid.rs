//! The study's grid: which networks each table trains, as configuration overrides.

use serde::{Deserialize, Serialize};
use tnet_hourglass::MODE_NAMES;

/// The report table a run belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Table {
    /// Per-mode redundancy: one mode's Tucker rank reduced.
    A,
    /// Methods across compression rates.
    B,
    /// Face parsing with the best configurations.
    C,
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
}

/// Compression rates of Table B: T-Net Tucker at all four, the other methods at the last three.
pub const TUCKER_RATES: [f64; 4] = [2.0, 4.0, 10.0, 30.0];
pub const OTHER_RATES: [f64; 3] = [4.0, 10.0, 30.0];
/// The rate of the compress-then-fine-tune and tensor-dropout rows.
pub const FOCUS_RATE: f64 = 10.0;
/// Tensor dropout probability of the dropout row.
pub const DROPOUT: f64 = 0.2;

fn rate_name(c: f64) -> String {
    format!("{c}x")
}

fn param_run(
    table: Table,
    task: &str,
    method: &str,
    param: &str,
    c: f64,
    extra: &[String],
) -> Planned {
    let mut model = vec![
        format!("model.param=\"{param}\""),
        format!("model.compression={c:?}"),
    ];
    model.extend(extra.iter().cloned());
    Planned {
        id: format!("{}-{param}-{}", table_tag(table), rate_name(c)),
        table,
        method: method.into(),
        detail: rate_name(c),
        task: task.into(),
        model,
        kind: RunKind::Train,
    }
}

fn table_tag(t: Table) -> &'static str {
    match t {
        Table::A => "A",
        Table::B => "B",
        Table::C => "C",
    }
}

/// The dense baseline of `table`.
pub fn dense(table: Table, task: &str) -> Planned {
    Planned {
        id: format!("{}-dense", table_tag(table)),
        table,
        method: "dense".into(),
        detail: "1x".into(),
        task: task.into(),
        model: vec!["model.param=\"dense\"".into()],
        kind: RunKind::Train,
    }
}

/// Table B: dense; T-Net Tucker at 2, 4, 10, 30x; CP and TT of the whole tensor, per-layer
/// Tucker-2 and CP at 4, 10, 30x; a dense network compressed by HOOI at 10x then fine-tuned;
/// T-Net Tucker at 10x with tensor dropout.
pub fn table_b(task: &str) -> Vec<Planned> {
    let mut runs = vec![dense(Table::B, task)];
    for c in TUCKER_RATES {
        runs.push(param_run(Table::B, task, "T-Net Tucker", "tucker", c, &[]));
    }
    for (method, param) in [
        ("T-Net CP", "cp"),
        ("T-Net TT", "tt"),
        ("per-layer Tucker-2", "layer-tucker"),
        ("per-layer CP", "layer-cp"),
    ] {
        for c in OTHER_RATES {
            runs.push(param_run(Table::B, task, method, param, c, &[]));
        }
    }
    runs.push(Planned {
        id: format!("B-compress-finetune-{}", rate_name(FOCUS_RATE)),
        table: Table::B,
        method: "dense, HOOI, fine-tuned".into(),
        detail: rate_name(FOCUS_RATE),
        task: task.into(),
        model: vec![],
        kind: RunKind::CompressFinetune {
            from: "B-dense".into(),
            compression: FOCUS_RATE,
        },
    });
    let mut dropout = param_run(
        Table::B,
        task,
        "T-Net Tucker + tensor dropout",
        "tucker",
        FOCUS_RATE,
        &[format!("model.tensor_dropout={DROPOUT:?}")],
    );
    dropout.id = format!("B-tucker-dropout-{}", rate_name(FOCUS_RATE));
    runs.push(dropout);
    runs
}

/// The ranks Table A tries for a mode of size `size`: about half, and the smallest that makes
/// sense (1 for the structural modes and the kernel's sides; an eighth for the channel modes),
/// each below the full size, without repeats.
pub fn reduced_ranks(mode: usize, size: usize) -> Vec<usize> {
    let half = size.div_ceil(2);
    let min = if MODE_NAMES[mode].starts_with("f_") {
        (size / 8).max(1)
    } else {
        1
    };
    let mut r: Vec<usize> = [half, min].into_iter().filter(|&r| r < size).collect();
    r.dedup();
    r
}

/// Table A: for each mode, the Tucker network with that mode's rank reduced and every other
/// mode at full rank.
pub fn table_a(task: &str, shape: &[usize; 8]) -> Vec<Planned> {
    let mut runs = vec![];
    for (mode, &size) in shape.iter().enumerate() {
        for r in reduced_ranks(mode, size) {
            let mut ranks = shape.to_vec();
            ranks[mode] = r;
            runs.push(Planned {
                id: format!("A-{}-r{r}", MODE_NAMES[mode]),
                table: Table::A,
                method: "T-Net Tucker, one mode reduced".into(),
                detail: format!("{} rank {r} of {size}", MODE_NAMES[mode]),
                task: task.into(),
                model: vec![
                    "model.param=\"tucker\"".into(),
                    format!("model.ranks={ranks:?}"),
                ],
                kind: RunKind::Train,
            });
        }
    }
    runs
}

/// Table C: face parsing, dense and the given configurations of Table B (their model overrides).
pub fn table_c(best: &[&Planned]) -> Vec<Planned> {
    let mut runs = vec![dense(Table::C, "faceseg")];
    for b in best {
        runs.push(Planned {
            id: b.id.replacen("B-", "C-", 1),
            table: Table::C,
            method: b.method.clone(),
            detail: b.detail.clone(),
            task: "faceseg".into(),
            model: b.model.clone(),
            kind: RunKind::Train,
        });
    }
    runs
}
