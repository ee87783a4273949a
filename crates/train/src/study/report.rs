//! The study's report: results read back from the run folders, three tables, plots and a
//! conclusion computed from the numbers (with the seed spread in view).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tnet_hourglass::HourglassConfig;

use crate::config::{Task, TrainConfig};
use crate::plot::{Series, chart_series};

use super::grid::{FOCUS_RATE, RunKind, TUCKER_RATES};
use super::{Planned, StudyError, StudyOptions, Table, file_err};

/// Pose parts in the table's order (the last is the Mean).
const PARTS: [&str; 8] = [
    "Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean",
];

/// One finished (or skipped) run, read from its folder.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub planned: Planned,
    pub seed: u64,
    /// Why the run was not trained (its configuration is out of reach at this size).
    pub skipped: Option<String>,
    pub dir: PathBuf,
    pub task: Task,
    /// PCKh@0.5 Mean or mIoU without background, after the last epoch.
    pub metric: f64,
    /// Pose: PCKh@0.5 per part and Mean; face parsing: mIoU, F1 (both without background),
    /// pixel accuracy.
    pub values: Vec<f64>,
    /// The network the run trained (absent for a skipped run).
    pub net: Option<HourglassConfig>,
    pub train_seconds: f64,
    /// The base learning rate the run trained with.
    pub lr: f64,
    pub metric_curve: Vec<f64>,
    pub loss_curve: Vec<f64>,
}

impl RunResult {
    pub(super) fn skipped(planned: &Planned, seed: u64, why: String) -> Self {
        Self {
            planned: planned.clone(),
            seed,
            skipped: Some(why),
            dir: PathBuf::new(),
            task: if planned.task == "faceseg" {
                Task::Faceseg
            } else {
                Task::Pose
            },
            metric: f64::NAN,
            values: vec![],
            net: None,
            train_seconds: 0.0,
            lr: f64::NAN,
            metric_curve: vec![],
            loss_curve: vec![],
        }
    }

    /// Reads `config.toml` and `log.jsonl` of a finished run folder.
    pub fn load(planned: &Planned, seed: u64, dir: &Path) -> Result<Self, StudyError> {
        let cfg_path = dir.join("config.toml");
        let text =
            std::fs::read_to_string(&cfg_path).map_err(|e| file_err(&cfg_path)(e.to_string()))?;
        let cfg: TrainConfig =
            toml::from_str(&text).map_err(|e| file_err(&cfg_path)(e.to_string()))?;
        let net = cfg
            .network()
            .map_err(|e| file_err(&cfg_path)(e.to_string()))?;
        let log_path = dir.join("log.jsonl");
        let log =
            std::fs::read_to_string(&log_path).map_err(|e| file_err(&log_path)(e.to_string()))?;
        let mut r = Self::skipped(planned, seed, String::new());
        r.skipped = None;
        r.dir = dir.to_path_buf();
        r.task = cfg.task;
        r.lr = cfg.schedule.lr;
        r.net = Some(net);
        let mut last = serde_json::Value::Null;
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| file_err(&log_path)(e.to_string()))?;
            let num = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
            r.metric_curve.push(num("metric"));
            r.loss_curve.push(num("train_loss"));
            r.train_seconds += num("epoch_seconds");
            last = v;
        }
        if last.is_null() {
            return Err(file_err(&log_path)("no finished epoch".into()));
        }
        r.metric = last["metric"].as_f64().unwrap_or(f64::NAN);
        r.values = match cfg.task {
            Task::Pose => PARTS
                .iter()
                .map(|p| last["pckh"]["pckh@0.5"][p].as_f64().unwrap_or(f64::NAN))
                .collect(),
            Task::Faceseg => [
                "mean_iou_no_background",
                "mean_f1_no_background",
                "pixel_accuracy",
            ]
            .iter()
            .map(|k| last["segmentation"][k].as_f64().unwrap_or(f64::NAN))
            .collect(),
        };
        Ok(r)
    }

    pub fn compression(&self) -> f64 {
        self.net
            .as_ref()
            .map_or(f64::NAN, |n| n.compression_ratio())
    }

    pub fn tensor_params(&self) -> usize {
        self.net.as_ref().map_or(0, |n| n.param_count())
    }

    pub fn total_params(&self) -> usize {
        self.net.as_ref().map_or(0, |n| n.total_params())
    }

    fn parametrization(&self) -> String {
        self.net
            .as_ref()
            .map_or(String::new(), |n| format!("{:?}", n.param))
    }

    /// One line for the progress output.
    pub fn headline(&self) -> String {
        match (&self.skipped, self.task) {
            (Some(why), _) => format!("skipped ({why})"),
            (None, Task::Pose) => {
                format!("PCKh@0.5 {:.2} at {:.1}x", self.metric, self.compression())
            }
            (None, Task::Faceseg) => {
                format!("mIoU {:.3} at {:.1}x", self.metric, self.compression())
            }
        }
    }
}

/// Mean and sample standard deviation (0 for one value) of the finite values.
fn stats(v: &[f64]) -> Option<(f64, f64, usize)> {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    Some((mean, sd, v.len()))
}

/// Two-sided 95 % Student t quantiles for 1..=10 degrees of freedom.
const T_975: [f64; 10] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
];

/// Half-width of the 95 % confidence interval of a mean of `n` values with sample standard
/// deviation `sd` (Student t; the normal 1.96 beyond 11 values); `None` for one value.
fn ci95(sd: f64, n: usize) -> Option<f64> {
    (n > 1).then(|| T_975.get(n - 2).copied().unwrap_or(1.96) * sd / (n as f64).sqrt())
}

/// For each method (`family`), the learning rate whose tuning run scored best (the lower
/// rate on a tie).
pub(super) fn tuned_rates(results: &[RunResult]) -> BTreeMap<String, f64> {
    let mut best: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for r in results.iter().filter(|r| r.planned.table == Table::Tune) {
        let (Some(family), true) = (&r.planned.family, r.metric.is_finite()) else {
            continue;
        };
        let better = best
            .get(family)
            .is_none_or(|&(m, lr)| r.metric > m || (r.metric == m && r.lr < lr));
        if better {
            best.insert(family.clone(), (r.metric, r.lr));
        }
    }
    best.into_iter().map(|(f, (_, lr))| (f, lr)).collect()
}

/// The runs of one planned id, every seed.
struct Row<'a> {
    planned: &'a Planned,
    runs: Vec<&'a RunResult>,
}

impl Row<'_> {
    fn done(&self) -> Vec<&RunResult> {
        self.runs
            .iter()
            .copied()
            .filter(|r| r.skipped.is_none())
            .collect()
    }

    fn skipped_why(&self) -> Option<&str> {
        self.runs.iter().find_map(|r| r.skipped.as_deref())
    }

    fn metric(&self) -> Option<(f64, f64, usize)> {
        stats(&self.done().iter().map(|r| r.metric).collect::<Vec<_>>())
    }

    fn value(&self, k: usize) -> Option<f64> {
        stats(
            &self
                .done()
                .iter()
                .filter_map(|r| r.values.get(k).copied())
                .collect::<Vec<_>>(),
        )
        .map(|s| s.0)
    }

    fn first(&self) -> Option<&RunResult> {
        self.done().first().copied()
    }

    /// The learning rate the row's runs trained with.
    fn lr(&self) -> Option<f64> {
        self.first().map(|f| f.lr)
    }

    fn mean_seconds(&self) -> Option<f64> {
        stats(
            &self
                .done()
                .iter()
                .map(|r| r.train_seconds)
                .collect::<Vec<_>>(),
        )
        .map(|s| s.0)
    }
}

/// The rows of `table`: the study appends each configuration's seeds one after the other.
fn rows<'a>(results: &'a [RunResult], table: Table) -> Vec<Row<'a>> {
    let of_table: Vec<&RunResult> = results
        .iter()
        .filter(|r| r.planned.table == table)
        .collect();
    of_table
        .chunk_by(|a, b| a.planned.id == b.planned.id)
        .map(|runs| Row {
            planned: &runs[0].planned,
            runs: runs.to_vec(),
        })
        .collect()
}

fn find<'a>(rows: &'a [Row<'a>], id: &str) -> Option<&'a Row<'a>> {
    rows.iter().find(|r| r.planned.id == id)
}

/// The ids of the `k` compressed Table B rows trained from scratch (not dense, not the
/// full-rank controls) with the best mean metric.
pub(super) fn best_of_b(results: &[RunResult], k: usize) -> Vec<String> {
    let b = rows(results, Table::B);
    let mut scored: Vec<(f64, String)> = b
        .iter()
        .filter(|r| r.planned.kind == RunKind::Train && r.planned.method != "dense")
        .filter(|r| r.planned.detail != super::grid::FULL_RANK)
        .filter_map(|r| r.metric().map(|m| (m.0, r.planned.id.clone())))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, id)| id).collect()
}

/// The mean and its 95 % confidence interval over the seeds.
fn pm(s: Option<(f64, f64, usize)>, digits: usize) -> String {
    match s {
        Some((m, sd, n)) => match ci95(sd, n) {
            Some(h) => format!("{m:.digits$} ± {h:.digits$}"),
            None => format!("{m:.digits$}"),
        },
        None => "n/a".into(),
    }
}

fn lr_cell(lr: Option<f64>) -> String {
    lr.filter(|v| v.is_finite())
        .map_or("n/a".into(), |v| format!("{v:e}"))
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.digits$}"))
}

/// A verdict on `a - b` (higher is better) with a noise margin: twice the standard error of
/// the difference over seeds, or `floor` when there is one seed.
fn compare(a: (f64, f64, usize), b: (f64, f64, usize), floor: f64) -> (f64, f64, &'static str) {
    let diff = a.0 - b.0;
    let margin = if a.2 > 1 && b.2 > 1 {
        (2.0 * (a.1.powi(2) / a.2 as f64 + b.1.powi(2) / b.2 as f64).sqrt()).max(floor / 4.0)
    } else {
        floor
    };
    let verdict = if diff > margin {
        "better than"
    } else if diff < -margin {
        "worse than"
    } else {
        "within the seed noise of"
    };
    (diff, margin, verdict)
}

/// The learning-rate sweeps: each method's final metric on the tuning set at each rate, the
/// chosen rate in bold.
fn write_tuning(w: &mut String, results: &[RunResult], s: &super::StudySettings, digits: usize) {
    let _ = writeln!(w, "## Learning rates\n");
    let tune = rows(results, Table::Tune);
    if tune.is_empty() {
        let _ = writeln!(
            w,
            "Not tuned: the sweep needs a synthetic tuning set, and this study's data is {}; \
             every run uses the configured rate.\n",
            s.data
        );
        return;
    }
    let chosen = tuned_rates(results);
    let _ = writeln!(
        w,
        "Each method's rate is the best of {:?} after {} epoch(s) (the rate divided by 10 before \
         the last) on a tuning set: a synthetic set of its own (data seed {}), training and \
         validation, never the reported validation set; seed {} only. The compress-then-fine-tune \
         rate is swept on the tuning set's dense run, compressed.\n",
        s.budget.lrs,
        s.budget.tune_epochs,
        super::TUNING_DATA_SEED,
        s.budget.seeds[0]
    );
    let _ = writeln!(w, "| Method | Target | LR | Tuning metric |");
    let _ = writeln!(w, "|---|---|---:|---:|");
    for r in &tune {
        let Some(run) = r.first() else { continue };
        let is_chosen = r
            .planned
            .family
            .as_ref()
            .and_then(|f| chosen.get(f))
            .is_some_and(|&lr| lr == run.lr);
        let lr = lr_cell(Some(run.lr));
        let _ = writeln!(
            w,
            "| {} | {} | {} | {:.digits$} |",
            r.planned.method,
            r.planned.detail,
            if is_chosen { format!("**{lr}**") } else { lr },
            run.metric
        );
    }
    let _ = writeln!(w);
}

/// Whether the budget reached convergence: the dense network's mean validation curve over its
/// last three epochs.
fn write_convergence(w: &mut String, b: &[Row], epochs: usize, digits: usize) {
    let Some(dense) = find(b, "B-dense") else {
        return;
    };
    let done = dense.done();
    let n = done.iter().map(|r| r.metric_curve.len()).min().unwrap_or(0);
    if n < 3 {
        return;
    }
    let mean = |e: usize| done.iter().map(|r| r.metric_curve[e]).sum::<f64>() / done.len() as f64;
    let last: Vec<f64> = (n - 3..n).map(mean).collect();
    let spread = last.iter().copied().fold(f64::MIN, f64::max)
        - last.iter().copied().fold(f64::MAX, f64::min);
    let _ = writeln!(
        w,
        "Convergence: the dense network's validation metric over its last three of {epochs} \
         epochs (mean over seeds) is {}, a spread of {spread:.digits$}{}.\n",
        last.iter()
            .map(|v| format!("{v:.digits$}"))
            .collect::<Vec<_>>()
            .join(", "),
        if spread <= 0.5 {
            " (flat within 0.5: converged at this budget)"
        } else {
            " (more than 0.5: not yet flat at this budget)"
        }
    );
}

/// Table D: dense against T-Net Tucker with few training images, where dense can overfit.
fn write_table_d(
    w: &mut String,
    d: &[Row],
    s: &super::StudySettings,
    metric_name: &str,
    digits: usize,
) {
    let _ = writeln!(w, "## Table D: few training images\n");
    let _ = writeln!(
        w,
        "The first {} training images, {} epochs (the rate divided by 10 after 75 % and again after 90 % of them), \
         the same validation set and rates as Table B: the regime in which the paper expects a \
         lightly compressed T-Net to beat the uncompressed network.\n",
        s.budget.scarce_train, s.budget.scarce_epochs
    );
    let dense = find(d, "D-dense").and_then(|r| r.metric());
    let _ = writeln!(
        w,
        "| Method | Target | LR | Compression | {metric_name} | Δ vs dense |"
    );
    let _ = writeln!(w, "|---|---|---:|---:|---:|---:|");
    for r in d {
        let m = r.metric();
        let delta = match (m, dense) {
            (Some(m), Some(dn)) if r.planned.method != "dense" => {
                format!("{:+.digits$}", m.0 - dn.0)
            }
            _ => String::new(),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {delta} |",
            r.planned.method,
            r.planned.detail,
            lr_cell(r.lr()),
            r.first()
                .map_or("n/a".into(), |f| format!("{:.2}x", f.compression())),
            match (m, r.skipped_why()) {
                (None, Some(why)) => format!("n/a: {why}"),
                _ => pm(m, digits),
            }
        );
    }
    let _ = writeln!(w);
}

/// Writes `<out>/README.md` and the plots; returns the report's path.
pub fn write_report(
    out: &Path,
    opts: &StudyOptions,
    results: &[RunResult],
) -> Result<PathBuf, String> {
    let s = &opts.settings;
    let pose = s.task == Task::Pose;
    let (metric_name, digits, unit) = if pose {
        ("PCKh@0.5 Mean (%)", 2, " points")
    } else {
        ("mIoU without background", 3, "")
    };
    // A seed-noise floor for one-seed comparisons: 2 PCKh points or 0.02 mIoU.
    let floor = if pose { 2.0 } else { 0.02 };
    let a = rows(results, Table::A);
    let b = rows(results, Table::B);
    let c = rows(results, Table::C);
    let dense = find(&b, "B-dense").and_then(|r| r.metric());
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(
        w,
        "# T-Net study: {} on {} data\n",
        if pose {
            "pose estimation"
        } else {
            "face parsing"
        },
        s.data
    );
    let _ = writeln!(
        w,
        "Produced by `{}` at commit `{}`. {} seed(s) ({:?}), {} epoch(s) per run{}, learning rate \
         divided by 10 after epoch(s) {:?}; device {}. Every number comes from a run folder \
         under `runs/` (`<id>-s<seed>`: its `config.toml` and `log.jsonl`); the values are the \
         validation measures after the last epoch, mean ± the half-width of its 95 % confidence \
         interval over the seeds (Student t). Each method trains at its own learning rate, \
         chosen by the sweep below on a tuning set that is not the reported validation set.\n",
        opts.command,
        opts.commit,
        s.budget.seeds.len(),
        s.budget.seeds,
        s.budget.epochs,
        s.budget
            .max_steps_per_epoch
            .map_or(String::new(), |m| format!(" of at most {m} steps")),
        s.budget.decay_epochs,
        s.device
    );
    if let Ok(inv) = std::fs::read_to_string(out.join("invocations.jsonl")) {
        let list: Vec<String> = inv
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["runs_trained"].as_u64().unwrap_or(0) > 0)
            .map(|v| {
                format!(
                    "{} run(s) at commit `{}`",
                    v["runs_trained"],
                    v["commit"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if !list.is_empty() {
            let _ = writeln!(
                w,
                "Trained by: {} (`invocations.jsonl`).\n",
                list.join(", ")
            );
        }
    }
    if !s.sets.is_empty() {
        let _ = writeln!(w, "Overrides for every run: `{}`.\n", s.sets.join("`, `"));
    }
    let net = b
        .first()
        .and_then(|r| r.first())
        .and_then(|f| f.net.clone());
    if let Some(net) = &net {
        let _ = writeln!(
            w,
            "Network: {} stack(s), hourglass depth {}, {} features, input {}; kernel tensor {:?} \
             ({} entries), {} parameters outside it. Compression is the dense kernel tensor's \
             size over the parametrization's parameters.\n",
            net.n_stacks,
            net.hg_depth,
            net.features,
            net.input_size,
            net.tensor_shape(),
            net.tensor_params(),
            net.other_params()
        );
    }

    write_tuning(w, results, s, digits);

    // Table B.
    let _ = writeln!(w, "## Table B: methods across compression rates\n");
    if pose {
        let _ = writeln!(
            w,
            "| Method | Target | LR | Compression | Tensor params | Total params | {metric_name} | Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | Train s |"
        );
        let _ = writeln!(
            w,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
    } else {
        let _ = writeln!(
            w,
            "| Method | Target | LR | Compression | Tensor params | Total params | {metric_name} | F1 no bg | Pixel acc | Train s |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    for r in &b {
        let Some(first) = r.first() else {
            let _ = writeln!(
                w,
                "| {} | {} | n/a: {} |",
                r.planned.method,
                r.planned.detail,
                r.skipped_why().unwrap_or("not run")
            );
            continue;
        };
        let mut line = format!(
            "| {} | {} | {} | {:.2}x | {} | {} | {} |",
            r.planned.method,
            r.planned.detail,
            lr_cell(r.lr()),
            first.compression(),
            first.tensor_params(),
            first.total_params(),
            pm(r.metric(), digits)
        );
        let extra: Vec<usize> = if pose { (0..7).collect() } else { vec![1, 2] };
        for k in extra {
            let _ = write!(line, " {} |", opt(r.value(k), digits));
        }
        let _ = write!(line, " {} |", opt(r.mean_seconds(), 0));
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(
        w,
        "\nT-Net rows parametrize the whole 8th-order tensor; per-layer rows give each 3x3 kernel \
         its own Tucker-2 tensor (whole spatial modes, shared channel rank) at the same \
         compression. The full-rank rows hold exactly the dense network's function class: their \
         distance to dense is the cost of the parametrization, their distance to the compressed \
         rows the cost of compression. \"dense, HOOI, fine-tuned\" decomposes the dense run's final tensor \
         (same seed) by HOOI at {FOCUS_RATE}x and fine-tunes it for {} epoch(s); its train time \
         is the fine-tuning only. The dropout row uses Tucker tensor dropout p = {} on every mode \
         of rank > 1.\n",
        s.budget.finetune_epochs,
        super::grid::DROPOUT
    );
    write_convergence(w, &b, s.budget.epochs, digits);
    write_table_d(w, &rows(results, Table::D), s, metric_name, digits);

    // Table A.
    let _ = writeln!(
        w,
        "## Table A: one mode of the Tucker tensor reduced at a time\n"
    );
    let _ = writeln!(
        w,
        "Every other mode at full rank; seed {} only, so read Δ (against the dense baseline of \
         Table B, {}) against Table B's seed spread.\n",
        s.budget.seeds[0],
        pm(dense, digits)
    );
    let _ = writeln!(
        w,
        "| Mode | Reduced to | Compression | Tensor params | {metric_name} | Δ vs dense |"
    );
    let _ = writeln!(w, "|---|---|---:|---:|---:|---:|");
    let mut by_mode: Vec<(String, f64)> = vec![];
    for r in &a {
        let m = r.metric();
        let delta = match (m, dense) {
            (Some(m), Some(d)) => format!("{:+.digits$}", m.0 - d.0),
            _ => "n/a".into(),
        };
        if let (Some(m), Some(d)) = (m, dense) {
            by_mode.push((r.planned.detail.clone(), m.0 - d.0));
        }
        let (comp, tp) = r.first().map_or(("n/a".into(), "n/a".into()), |f| {
            (
                format!("{:.2}x", f.compression()),
                f.tensor_params().to_string(),
            )
        });
        let _ = writeln!(
            w,
            "| {} | {} | {comp} | {tp} | {} | {delta} |",
            r.planned.detail.split(' ').next().unwrap_or(""),
            r.planned.detail.split_once(' ').map_or("", |x| x.1),
            pm(m, digits)
        );
    }
    if let Some(net) = &net {
        let ones: Vec<&str> = net
            .tensor_shape()
            .iter()
            .zip(tnet_hourglass::MODE_NAMES)
            .filter(|(s, _)| **s == 1)
            .map(|(_, n)| n)
            .collect();
        if !ones.is_empty() {
            let _ = writeln!(
                w,
                "\nModes of size 1 in this network (nothing to reduce): {}.",
                ones.join(", ")
            );
        }
    }
    let _ = writeln!(w);

    // Table C.
    let _ = writeln!(
        w,
        "## Table C: face parsing, dense and the two best compressed configurations of Table B\n"
    );
    let c_rows: Vec<&Row> = if pose {
        c.iter().collect()
    } else {
        let best = best_of_b(results, 2);
        b.iter()
            .filter(|r| r.planned.id == "B-dense" || best.contains(&r.planned.id))
            .collect()
    };
    let c_dense = c_rows
        .iter()
        .find(|r| r.planned.method == "dense")
        .and_then(|r| r.metric());
    let _ = writeln!(
        w,
        "| Method | Target | Compression | mIoU no bg | F1 no bg | Pixel acc | Δ mIoU vs dense |"
    );
    let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|");
    for r in &c_rows {
        let m = r.metric();
        let delta = match (m, c_dense) {
            (Some(m), Some(d)) if r.planned.method != "dense" => format!("{:+.3}", m.0 - d.0),
            _ => "".into(),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {delta} |",
            r.planned.method,
            r.planned.detail,
            r.first()
                .map_or("n/a".into(), |f| format!("{:.2}x", f.compression())),
            pm(m, 3),
            opt(r.value(1), 3),
            opt(r.value(2), 3)
        );
    }
    let _ = writeln!(w);

    // Plots.
    let plot_err = |e: String| e;
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut method_order: Vec<String> = vec![];
    for r in &b {
        if let (Some(m), Some(f)) = (r.metric(), r.first()) {
            if !series.contains_key(&r.planned.method) {
                method_order.push(r.planned.method.clone());
            }
            series
                .entry(r.planned.method.clone())
                .or_default()
                .push((f.tensor_params() as f64, m.0));
        }
    }
    let lines: Vec<Series> = method_order
        .iter()
        .map(|name| {
            let mut pts = series.remove(name).unwrap_or_default();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: name.to_uppercase(),
                xs: pts.iter().map(|p| p.0).collect(),
                ys: pts.iter().map(|p| p.1).collect(),
            }
        })
        .collect();
    let title = if pose {
        "PCKH@0.5 VS TENSOR PARAMETERS"
    } else {
        "MIOU VS TENSOR PARAMETERS"
    };
    chart_series(
        &out.join("metric_vs_params.png"),
        title,
        "TENSOR PARAMETERS",
        &lines,
        true,
    )
    .map_err(plot_err)?;
    let mut curves = vec![];
    let mut loss_curves = vec![];
    for id in [
        "B-dense".to_string(),
        "B-tucker-full".to_string(),
        format!("B-tucker-{FOCUS_RATE}x"),
        format!("B-cp-{FOCUS_RATE}x"),
        format!("B-tt-{FOCUS_RATE}x"),
        format!("B-layer-tucker-{FOCUS_RATE}x"),
    ] {
        if let Some(r) = find(&b, &id) {
            let done = r.done();
            let epochs = done.iter().map(|x| x.metric_curve.len()).min().unwrap_or(0);
            let avg = |f: &dyn Fn(&RunResult) -> &Vec<f64>| -> Vec<f64> {
                (0..epochs)
                    .map(|e| done.iter().map(|x| f(x)[e]).sum::<f64>() / done.len() as f64)
                    .collect()
            };
            let xs: Vec<f64> = (1..=epochs).map(|e| e as f64).collect();
            let name = format!("{} {}", r.planned.method, r.planned.detail).to_uppercase();
            curves.push(Series {
                name: name.clone(),
                xs: xs.clone(),
                ys: avg(&|x| &x.metric_curve),
            });
            loss_curves.push(Series {
                name,
                xs,
                ys: avg(&|x| &x.loss_curve),
            });
        }
    }
    let title = if pose {
        "VALIDATION PCKH@0.5 (%)"
    } else {
        "VALIDATION MIOU"
    };
    chart_series(
        &out.join("curves_metric.png"),
        title,
        "EPOCH",
        &curves,
        false,
    )
    .map_err(plot_err)?;
    chart_series(
        &out.join("curves_loss.png"),
        "TRAINING LOSS",
        "EPOCH",
        &loss_curves,
        false,
    )
    .map_err(plot_err)?;
    let _ = writeln!(w, "## Plots\n");
    let _ = writeln!(
        w,
        "![metric against parameters](metric_vs_params.png)\n\nValidation {metric_name} against the \
         kernel tensor's parameters (log scale), Table B, mean over seeds: one line per method.\n"
    );
    let _ = writeln!(
        w,
        "![validation curves](curves_metric.png) ![loss curves](curves_loss.png)\n\nTraining \
         curves (mean over seeds) of the dense network, T-Net Tucker at full rank and every \
         method at {FOCUS_RATE}x.\n"
    );

    // Conclusion.
    let _ = writeln!(w, "## Conclusion (computed from the tables)\n");
    let margin_note = if s.budget.seeds.len() > 1 {
        format!(
            "A difference counts when it exceeds twice its standard error over the {} seeds.",
            s.budget.seeds.len()
        )
    } else {
        format!(
            "One seed: a difference counts when it exceeds {floor}{unit} (no spread to measure)."
        )
    };
    let _ = writeln!(w, "{margin_note}\n");
    let row_metric = |id: String| find(&b, &id).and_then(|r| r.metric());
    let d_rows = rows(results, Table::D);
    let scarce_metric = |id: String| find(&d_rows, &id).and_then(|r| r.metric());
    if let Some(d) = dense {
        for (param, method) in [
            ("tucker", "T-Net Tucker"),
            ("tt", "T-Net TT"),
            ("layer-tucker", "per-layer Tucker-2"),
        ] {
            let Some(full) = row_metric(format!("B-{param}-full")) else {
                continue;
            };
            let (diff, margin, verdict) = compare(full, d, floor);
            let mut line = format!(
                "- *Cost of the parametrization*: {method} at full rank is {verdict} dense \
                 ({diff:+.digits$}{unit}, margin {margin:.digits$})"
            );
            if let Some(c) = row_metric(format!("B-{param}-{FOCUS_RATE}x")) {
                let (diff, _, verdict) = compare(c, full, floor);
                let _ = write!(
                    line,
                    "; *cost of compression*: at {FOCUS_RATE}x it is {verdict} its full-rank \
                     form ({diff:+.digits$}{unit})"
                );
            }
            let _ = writeln!(w, "{line}.");
        }
    }
    type Metric<'m> = &'m dyn Fn(String) -> Option<(f64, f64, usize)>;
    let settings: [(&str, Metric, &str); 2] = [
        ("B", &row_metric, "all training images"),
        ("D", &scarce_metric, "few training images"),
    ];
    for (tag, metric_of, setting) in settings {
        let Some(d) = metric_of(format!("{tag}-dense")) else {
            continue;
        };
        for target in ["full".to_string(), format!("{}x", TUCKER_RATES[0])] {
            if let Some(t) = metric_of(format!("{tag}-tucker-{target}")) {
                let (diff, margin, verdict) = compare(t, d, floor);
                let _ = writeln!(
                    w,
                    "- *Low compression beats the uncompressed network* ({setting}): T-Net \
                     Tucker at {target} is {verdict} dense ({diff:+.digits$}{unit}, margin \
                     {margin:.digits$}).{}",
                    if verdict == "better than" {
                        " Holds here."
                    } else {
                        " Not shown here."
                    }
                );
            }
        }
    }
    if let Some(d) = dense {
        let high = TUCKER_RATES[TUCKER_RATES.len() - 1];
        if let Some(t) = row_metric(format!("B-tucker-{high}x")) {
            let drop = d.0 - t.0;
            let small = if pose { 3.0 } else { 0.03 };
            let _ = writeln!(
                w,
                "- *At high compression the drop is small*: T-Net Tucker at {high}x is {:.digits$}{unit} \
                 {} dense. {}",
                drop.abs(),
                if drop >= 0.0 { "below" } else { "above" },
                if drop <= small {
                    format!("Holds here (threshold {small}{unit}).")
                } else {
                    format!("Does not hold here (more than {small}{unit}).")
                }
            );
        }
    }
    let mut wins = vec![];
    for target in ["full".to_string(), format!("{FOCUS_RATE}x")] {
        if let (Some(t), Some(l)) = (
            row_metric(format!("B-tucker-{target}")),
            row_metric(format!("B-layer-tucker-{target}")),
        ) {
            let (diff, _, verdict) = compare(t, l, floor);
            wins.push(format!("{target}: {verdict} ({diff:+.digits$})"));
        }
    }
    if !wins.is_empty() {
        let better = wins.iter().filter(|x| x.contains("better than")).count();
        let _ = writeln!(
            w,
            "- *One tensor beats per-layer factorization at the same parameter count*: T-Net \
             Tucker against per-layer Tucker-2 — {}. {}",
            wins.join("; "),
            if better == wins.len() {
                "Holds at every rate here.".to_string()
            } else if better > 0 {
                format!("Holds at {better} of {} rates here.", wins.len())
            } else {
                "Not shown here.".to_string()
            }
        );
    }
    if let (Some(t), Some(dr)) = (
        row_metric(format!("B-tucker-{FOCUS_RATE}x")),
        row_metric(format!("B-tucker-dropout-{FOCUS_RATE}x")),
    ) {
        let (diff, _, verdict) = compare(dr, t, floor);
        let _ = writeln!(
            w,
            "- Tensor dropout at {FOCUS_RATE}x: {verdict} the same network without it ({diff:+.digits$}{unit})."
        );
    }
    if let (Some(t), Some(cf)) = (
        row_metric(format!("B-tucker-{FOCUS_RATE}x")),
        row_metric(format!("B-compress-finetune-{FOCUS_RATE}x")),
    ) {
        let (diff, _, verdict) = compare(t, cf, floor);
        let _ = writeln!(
            w,
            "- Training the Tucker form end to end at {FOCUS_RATE}x is {verdict} compressing \
             the trained dense network and fine-tuning ({diff:+.digits$}{unit})."
        );
    }
    if !by_mode.is_empty() {
        by_mode.sort_by(|x, y| y.1.total_cmp(&x.1));
        let list: Vec<String> = by_mode
            .iter()
            .map(|(d, v)| format!("{d} ({v:+.digits$})"))
            .collect();
        let _ = writeln!(
            w,
            "- Per-mode redundancy (Table A), most redundant first (smallest loss against dense): {}.",
            list.join(", ")
        );
    }
    if let Some(cd) = c_dense {
        for r in c_rows.iter().filter(|r| r.planned.method != "dense") {
            if let (Some(m), Some(f)) = (r.metric(), r.first()) {
                let (diff, _, verdict) = compare(m, cd, 0.02);
                let _ = writeln!(
                    w,
                    "- Face parsing: {} {} ({:.1}x compression) is {verdict} dense ({diff:+.3} mIoU).",
                    r.planned.method,
                    r.planned.detail,
                    f.compression()
                );
            }
        }
    }
    let _ = writeln!(
        w,
        "\nThese are runs on the project's synthetic data and the small network: they test \
         the claims' direction at this scale, not the paper's MPII numbers."
    );

    // Runs.
    let _ = writeln!(w, "\n## Runs\n");
    let _ = writeln!(
        w,
        "| Run folder | Table | Parametrization | Seed | Final metric | Train s |"
    );
    let _ = writeln!(w, "|---|---|---|---:|---:|---:|");
    for r in results {
        let folder = r
            .dir
            .strip_prefix(out)
            .unwrap_or(&r.dir)
            .display()
            .to_string();
        let _ = writeln!(
            w,
            "| {} | {:?} | {} | {} | {} | {:.0} |",
            match &r.skipped {
                Some(why) => format!("`runs/{}-s{}` not trained: {why}", r.planned.id, r.seed),
                None => format!("`{folder}`"),
            },
            r.planned.table,
            r.parametrization(),
            r.seed,
            if r.metric.is_finite() {
                format!("{:.digits$}", r.metric)
            } else {
                "n/a".into()
            },
            r.train_seconds
        );
    }
    let path = out.join("README.md");
    std::fs::write(&path, md).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
