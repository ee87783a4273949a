//! The report's conclusion: each of the paper's claims checked against the tables, a
//! difference counting only when it clears the seed noise.

use std::fmt::Write as _;

use super::super::grid::{FOCUS_RATE, TUCKER_RATES};
use super::{Ctx, compare, find};

/// Writes the conclusion; `by_mode` is Table A's reduced modes with their difference to dense.
pub(super) fn write_conclusion(w: &mut String, ctx: &Ctx, by_mode: &[(String, f64)]) {
    let _ = writeln!(w, "## Conclusion (computed from the tables)\n");
    let seeds = ctx.s.budget.seeds.len();
    let margin_note = if seeds > 1 {
        format!(
            "A difference counts when it exceeds twice its standard error over the {seeds} seeds."
        )
    } else {
        format!(
            "One seed: a difference counts when it exceeds {}{} (no spread to measure).",
            ctx.floor, ctx.unit
        )
    };
    let _ = writeln!(w, "{margin_note}\n");
    parametrization_and_compression(w, ctx);
    low_compression(w, ctx);
    high_compression(w, ctx);
    one_tensor_against_per_layer(w, ctx);
    dropout_and_finetuning(w, ctx);
    if !by_mode.is_empty() {
        let mut by_mode = by_mode.to_vec();
        by_mode.sort_by(|x, y| y.1.total_cmp(&x.1));
        let digits = ctx.digits;
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
    face_parsing(w, ctx);
    let _ = writeln!(
        w,
        "\nThese are runs on the project's synthetic data and the small network: they test \
         the claims' direction at this scale, not the paper's MPII numbers."
    );
}

/// Full-rank controls against dense (the parametrization's cost), and each method's
/// compressed row against its full-rank form (the compression's cost).
fn parametrization_and_compression(w: &mut String, ctx: &Ctx) {
    let (digits, unit) = (ctx.digits, ctx.unit);
    let Some(d) = ctx.dense else { return };
    for (param, method) in [
        ("tucker", "T-Net Tucker"),
        ("tt", "T-Net TT"),
        ("layer-tucker", "per-layer Tucker-2"),
    ] {
        let Some(full) = ctx.b_metric(&format!("B-{param}-full")) else {
            continue;
        };
        let (diff, margin, verdict) = compare(full, d, ctx.floor);
        let mut line = format!(
            "- *Cost of the parametrization*: {method} at full rank is {verdict} dense \
             ({diff:+.digits$}{unit}, margin {margin:.digits$})"
        );
        if let Some(c) = ctx.b_metric(&format!("B-{param}-{FOCUS_RATE}x")) {
            let (diff, _, verdict) = compare(c, full, ctx.floor);
            let _ = write!(
                line,
                "; *cost of compression*: at {FOCUS_RATE}x it is {verdict} its full-rank \
                 form ({diff:+.digits$}{unit})"
            );
        }
        let _ = writeln!(w, "{line}.");
    }
}

/// The regularization claim: T-Net Tucker at full rank and at the lowest compression against
/// dense, with all training images (Table B) and with few (Table D).
fn low_compression(w: &mut String, ctx: &Ctx) {
    let (digits, unit) = (ctx.digits, ctx.unit);
    for (tag, rows, setting) in [
        ("B", &ctx.b, "all training images"),
        ("D", &ctx.d, "few training images"),
    ] {
        let metric_of = |id: &str| find(rows, id).and_then(|r| r.metric());
        let Some(d) = metric_of(&format!("{tag}-dense")) else {
            continue;
        };
        for target in ["full".to_string(), format!("{}x", TUCKER_RATES[0])] {
            if let Some(t) = metric_of(&format!("{tag}-tucker-{target}")) {
                let (diff, margin, verdict) = compare(t, d, ctx.floor);
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
        let pairs = find(rows, &format!("{tag}-dense")).and_then(|r| r.pairs_told_apart());
        if let Some(p) = pairs.filter(|&p| ctx.pose && p < 1.0) {
            let _ = writeln!(
                w,
                "  With {setting} even dense tells apart {p:.1} of the six left/right pairs on \
                 average: every row sits on the plateau where sides are confused, so this \
                 setting cannot show a regularization effect."
            );
        }
    }
}

/// The claim that the drop stays small at the highest compression of Table B.
fn high_compression(w: &mut String, ctx: &Ctx) {
    let (digits, unit) = (ctx.digits, ctx.unit);
    let high = TUCKER_RATES[TUCKER_RATES.len() - 1];
    let (Some(d), Some(t)) = (ctx.dense, ctx.b_metric(&format!("B-tucker-{high}x"))) else {
        return;
    };
    let drop = d.0 - t.0;
    let small = if ctx.pose { 3.0 } else { 0.03 };
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

/// T-Net Tucker against per-layer Tucker-2 at the same targets.
fn one_tensor_against_per_layer(w: &mut String, ctx: &Ctx) {
    let digits = ctx.digits;
    let mut wins = vec![];
    for target in ["full".to_string(), format!("{FOCUS_RATE}x")] {
        if let (Some(t), Some(l)) = (
            ctx.b_metric(&format!("B-tucker-{target}")),
            ctx.b_metric(&format!("B-layer-tucker-{target}")),
        ) {
            let (diff, _, verdict) = compare(t, l, ctx.floor);
            wins.push(format!("{target}: {verdict} ({diff:+.digits$})"));
        }
    }
    if wins.is_empty() {
        return;
    }
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

/// Tensor dropout, and end-to-end training against compress-then-fine-tune, at the focus rate.
fn dropout_and_finetuning(w: &mut String, ctx: &Ctx) {
    let (digits, unit) = (ctx.digits, ctx.unit);
    let Some(t) = ctx.b_metric(&format!("B-tucker-{FOCUS_RATE}x")) else {
        return;
    };
    if let Some(dr) = ctx.b_metric(&format!("B-tucker-dropout-{FOCUS_RATE}x")) {
        let (diff, _, verdict) = compare(dr, t, ctx.floor);
        let _ = writeln!(
            w,
            "- Tensor dropout at {FOCUS_RATE}x: {verdict} the same network without it ({diff:+.digits$}{unit})."
        );
    }
    if let Some(cf) = ctx.b_metric(&format!("B-compress-finetune-{FOCUS_RATE}x")) {
        let (diff, _, verdict) = compare(t, cf, ctx.floor);
        let _ = writeln!(
            w,
            "- Training the Tucker form end to end at {FOCUS_RATE}x is {verdict} compressing \
             the trained dense network and fine-tuning ({diff:+.digits$}{unit})."
        );
    }
}

/// Table C's compressed rows against its dense row.
fn face_parsing(w: &mut String, ctx: &Ctx) {
    let c_rows = ctx.c_rows();
    let Some(cd) = c_rows
        .iter()
        .find(|r| r.planned.method == "dense")
        .and_then(|r| r.metric())
    else {
        return;
    };
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
