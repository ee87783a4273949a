//! The study's report: results read back from the run folders, the tables (`tables`), plots
//! (`plots`) and a conclusion computed from the numbers with the seed spread in view
//! (`conclusion`).

mod conclusion;
mod plots;
mod tables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tnet_hourglass::HourglassConfig;

use crate::config::{Task, TrainConfig};

use super::grid::RunKind;
use super::{Planned, StudyError, StudyOptions, StudySettings, Table, file_err};

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
            .map_or(String::new(), |n| n.param.to_string())
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

/// Mean, sample standard deviation and count of a row's values over its seeds.
type Stats = (f64, f64, usize);

/// Mean and sample standard deviation (0 for one value) of the finite values.
fn stats(v: &[f64]) -> Option<Stats> {
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

/// PCKh@0.5 (%) above which a left/right pair counts as told apart.
const TOLD_APART: f64 = 70.0;

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

    fn metric(&self) -> Option<Stats> {
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

    /// Pose: how many of the six left/right joint pairs (Shoulder .. Ankle) the runs tell
    /// apart, mean over seeds. A pair whose sides the network confuses scores about 50 % PCKh
    /// (its two peaks land on both joints and the arg max picks either); one told apart scores
    /// far above: the count is of parts above [`TOLD_APART`] %.
    fn pairs_told_apart(&self) -> Option<f64> {
        let counts: Vec<f64> = self
            .done()
            .iter()
            .filter(|r| r.task == Task::Pose)
            .map(|r| {
                (1..=6)
                    .filter(|&k| r.values.get(k).is_some_and(|&v| v > TOLD_APART))
                    .count() as f64
            })
            .collect();
        stats(&counts).map(|s| s.0)
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
fn pm(s: Option<Stats>, digits: usize) -> String {
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
fn compare(a: Stats, b: Stats, floor: f64) -> (f64, f64, &'static str) {
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

/// What every section of the report reads: the settings, the measure's name and precision,
/// and the rows of each table.
struct Ctx<'a> {
    out: &'a Path,
    opts: &'a StudyOptions,
    results: &'a [RunResult],
    s: &'a StudySettings,
    pose: bool,
    metric_name: &'static str,
    digits: usize,
    /// " points" for PCKh, nothing for mIoU.
    unit: &'static str,
    /// A seed-noise floor for one-seed comparisons: 2 PCKh points or 0.02 mIoU.
    floor: f64,
    a: Vec<Row<'a>>,
    b: Vec<Row<'a>>,
    c: Vec<Row<'a>>,
    d: Vec<Row<'a>>,
    /// Table B's dense baseline.
    dense: Option<Stats>,
    /// The network of Table B's first run.
    net: Option<HourglassConfig>,
}

impl<'a> Ctx<'a> {
    fn new(out: &'a Path, opts: &'a StudyOptions, results: &'a [RunResult]) -> Self {
        let pose = opts.settings.task == Task::Pose;
        let b = rows(results, Table::B);
        let dense = find(&b, "B-dense").and_then(|r| r.metric());
        let net = b
            .first()
            .and_then(|r| r.first())
            .and_then(|f| f.net.clone());
        Ctx {
            out,
            opts,
            results,
            s: &opts.settings,
            pose,
            metric_name: if pose {
                "PCKh@0.5 Mean (%)"
            } else {
                "mIoU without background"
            },
            digits: if pose { 2 } else { 3 },
            unit: if pose { " points" } else { "" },
            floor: if pose { 2.0 } else { 0.02 },
            a: rows(results, Table::A),
            c: rows(results, Table::C),
            d: rows(results, Table::D),
            b,
            dense,
            net,
        }
    }

    /// The mean metric of Table B's row `id`.
    fn b_metric(&self, id: &str) -> Option<Stats> {
        find(&self.b, id).and_then(|r| r.metric())
    }

    /// Table C's rows: trained for a pose study, read from Table B for a face-parsing one.
    fn c_rows(&self) -> Vec<&Row<'a>> {
        if self.pose {
            self.c.iter().collect()
        } else {
            let best = best_of_b(self.results, 2);
            self.b
                .iter()
                .filter(|r| r.planned.id == "B-dense" || best.contains(&r.planned.id))
                .collect()
        }
    }
}

/// Writes `<out>/README.md` and the plots; returns the report's path.
pub fn write_report(
    out: &Path,
    opts: &StudyOptions,
    results: &[RunResult],
) -> Result<PathBuf, String> {
    let ctx = Ctx::new(out, opts, results);
    let mut md = String::new();
    let w = &mut md;
    tables::write_header(w, &ctx);
    tables::write_tuning(w, &ctx);
    tables::write_table_b(w, &ctx);
    tables::write_convergence(w, &ctx);
    tables::write_table_d(w, &ctx);
    let by_mode = tables::write_table_a(w, &ctx);
    tables::write_table_c(w, &ctx);
    plots::write_plots(w, &ctx)?;
    conclusion::write_conclusion(w, &ctx, &by_mode);
    tables::write_runs(w, &ctx);
    let path = out.join("README.md");
    std::fs::write(&path, md).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
