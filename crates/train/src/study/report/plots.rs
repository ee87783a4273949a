//! The report's plots: the metric against the tensor's parameters, and training curves.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::super::grid::FOCUS_RATE;
use super::{Ctx, RunResult, find};
use crate::plot::{Series, chart_series};

/// Draws the plots into the study folder and links them from the report.
pub(super) fn write_plots(w: &mut String, ctx: &Ctx) -> Result<(), String> {
    let &Ctx {
        out,
        pose,
        metric_name,
        ref b,
        ..
    } = ctx;
    let plot_err = |e: String| e;
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut method_order: Vec<String> = vec![];
    for r in b.iter() {
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
        if let Some(r) = find(b, &id) {
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

    Ok(())
}
