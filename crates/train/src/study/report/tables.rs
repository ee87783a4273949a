//! The report's tables: header, learning rates, Tables B, D, A and C, and the run list.

use std::fmt::Write as _;

use super::super::Table;
use super::super::grid::{DROPOUT, FOCUS_RATE};
use super::{Ctx, find, lr_cell, opt, pm, rows, tuned_rates};

/// The title, how the numbers were made, and the network.
pub(super) fn write_header(w: &mut String, ctx: &Ctx) {
    let &Ctx {
        out, opts, s, pose, ..
    } = ctx;
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
    if let Some(net) = &ctx.net {
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
}

/// The learning-rate sweeps: each method's final metric on the tuning set at each rate, the
/// chosen rate in bold.
pub(super) fn write_tuning(w: &mut String, ctx: &Ctx) {
    let &Ctx {
        results, s, digits, ..
    } = ctx;
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
        super::super::TUNING_DATA_SEED,
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
pub(super) fn write_convergence(w: &mut String, ctx: &Ctx) {
    let (epochs, digits) = (ctx.s.budget.epochs, ctx.digits);
    let Some(dense) = find(&ctx.b, "B-dense") else {
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
pub(super) fn write_table_d(w: &mut String, ctx: &Ctx) {
    let &Ctx {
        s,
        metric_name,
        digits,
        ref d,
        ..
    } = ctx;
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
        "| Method | Target | LR | Compression | {metric_name} | Δ vs dense | L/R pairs |"
    );
    let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|");
    for r in d.iter() {
        let m = r.metric();
        let delta = match (m, dense) {
            (Some(m), Some(dn)) if r.planned.method != "dense" => {
                format!("{:+.digits$}", m.0 - dn.0)
            }
            _ => String::new(),
        };
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {delta} | {} |",
            r.planned.method,
            r.planned.detail,
            lr_cell(r.lr()),
            r.first()
                .map_or("n/a".into(), |f| format!("{:.2}x", f.compression())),
            match (m, r.skipped_why()) {
                (None, Some(why)) => format!("n/a: {why}"),
                _ => pm(m, digits),
            },
            opt(r.pairs_told_apart(), 1)
        );
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "{LR_PAIRS_NOTE}\n");
}

/// What the pose tables' last column counts, and why it explains most of the metric.
const LR_PAIRS_NOTE: &str = "L/R pairs: how many of the six left/right joint pairs (shoulders, \
    elbows, wrists, hips, knees, ankles) a run tells apart (PCKh@0.5 of the part above 70 %), \
    mean over seeds. The synthetic people's sides differ only by colour (warm right, cool \
    left): a network that has not learnt the cue finds both joints of a pair but not which is \
    which, and scores about 50 % on that part. Every run passes through the state with no pair \
    told apart (head about 97 %, PCKh Mean about 58 %) and learns the pairs one after the \
    other, shoulders and hips first; the Mean of a row is mostly the number of pairs it \
    learnt within the budget, and a seed that learnt none ends near 58 %.";

/// Table B: every method across compression rates, with the full-rank controls.
pub(super) fn write_table_b(w: &mut String, ctx: &Ctx) {
    let &Ctx {
        s,
        pose,
        metric_name,
        digits,
        ref b,
        ..
    } = ctx;
    let _ = writeln!(w, "## Table B: methods across compression rates\n");
    if pose {
        let _ = writeln!(
            w,
            "| Method | Target | LR | Compression | Tensor params | Total params | {metric_name} | Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | Train s | L/R pairs |"
        );
        let _ = writeln!(
            w,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
    } else {
        let _ = writeln!(
            w,
            "| Method | Target | LR | Compression | Tensor params | Total params | {metric_name} | F1 no bg | Pixel acc | Train s |"
        );
        let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    for r in b.iter() {
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
        if pose {
            let _ = write!(line, " {} |", opt(r.pairs_told_apart(), 1));
        }
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
        s.budget.finetune_epochs, DROPOUT
    );
    if pose {
        let _ = writeln!(w, "{LR_PAIRS_NOTE}\n");
    }
}

/// Table A: one mode of the Tucker tensor reduced at a time; returns each reduced mode with
/// its difference to dense (for the conclusion).
pub(super) fn write_table_a(w: &mut String, ctx: &Ctx) -> Vec<(String, f64)> {
    let &Ctx {
        s,
        metric_name,
        digits,
        dense,
        ref a,
        ..
    } = ctx;
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
        "| Mode | Reduced to | Compression | Tensor params | {metric_name} | Δ vs dense |{}",
        if ctx.pose { " L/R pairs |" } else { "" }
    );
    let _ = writeln!(
        w,
        "|---|---|---:|---:|---:|---:|{}",
        if ctx.pose { "---:|" } else { "" }
    );
    let mut by_mode: Vec<(String, f64)> = vec![];
    for r in a.iter() {
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
        let pairs = if ctx.pose {
            format!(" {} |", opt(r.pairs_told_apart(), 1))
        } else {
            String::new()
        };
        let _ = writeln!(
            w,
            "| {} | {} | {comp} | {tp} | {} | {delta} |{pairs}",
            r.planned.detail.split(' ').next().unwrap_or(""),
            r.planned.detail.split_once(' ').map_or("", |x| x.1),
            pm(m, digits)
        );
    }
    if let Some(net) = &ctx.net {
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
    if ctx.pose {
        let _ = writeln!(
            w,
            "\nOne seed per row: a row with no left/right pair told apart sits on the plateau \
             that some seeds of Table B's full-rank and compressed rows also end on, so its Δ \
             says more about that seed than about the mode."
        );
    }
    let _ = writeln!(w);
    by_mode
}

/// Table C: face parsing, dense and the two best compressed configurations of Table B.
pub(super) fn write_table_c(w: &mut String, ctx: &Ctx) {
    let _ = writeln!(
        w,
        "## Table C: face parsing, dense and the two best compressed configurations of Table B\n"
    );
    let c_rows = ctx.c_rows();
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
}

/// Every run folder with its final metric.
pub(super) fn write_runs(w: &mut String, ctx: &Ctx) {
    let &Ctx {
        out,
        results,
        digits,
        ..
    } = ctx;
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
}
