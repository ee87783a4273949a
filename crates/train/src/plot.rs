//! Plots of the training loss and the validation metric against epochs, as PNG, drawn from
//! `log.jsonl` with a small built-in bitmap font (no system fonts needed on a fresh machine).

use std::path::Path;

use image::{Rgb, RgbImage};

const W: u32 = 640;
const H: u32 = 400;
const LEFT: i64 = 70;
const RIGHT: i64 = 20;
const TOP: i64 = 40;
const BOTTOM: i64 = 50;

/// 5x7 glyphs, one row per byte (low 5 bits, leftmost pixel in bit 4).
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '@' => [0x0E, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0F],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        '_' => [0, 0, 0, 0, 0, 0, 0x1F],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        ' ' => [0; 7],
        _ => return None,
    })
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// Text at `(x, y)` (top-left), 2x scaled glyphs when `big`.
fn text(img: &mut RgbImage, x: i64, y: i64, s: &str, big: bool) {
    text_in(img, x, y, s, big, Rgb([0, 0, 0]));
}

fn text_in(img: &mut RgbImage, x: i64, y: i64, s: &str, big: bool, colour: Rgb<u8>) {
    let k = if big { 2 } else { 1 };
    for (i, ch) in s.chars().enumerate() {
        let Some(g) = glyph(ch) else { continue };
        for (row, bits) in g.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    for dy in 0..k {
                        for dx in 0..k {
                            put(
                                img,
                                x + (i as i64 * 6 + col) * k + dx,
                                y + row as i64 * k + dy,
                                colour,
                            );
                        }
                    }
                }
            }
        }
    }
}

fn line(img: &mut RgbImage, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: Rgb<u8>, thick: i64) {
    let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (x, y) = (
            (x0 + t * (x1 - x0)).round() as i64,
            (y0 + t * (y1 - y0)).round() as i64,
        );
        for d in -(thick / 2)..=(thick / 2) {
            put(img, x, y + d, c);
            put(img, x + d, y, c);
        }
    }
}

fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-2..1e4).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
}

/// Colours of the series, in order (matplotlib's first ten).
const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// A line chart of `ys` against `xs` (epochs) with a title.
pub fn chart(path: &Path, title: &str, xs: &[f64], ys: &[f64]) -> Result<(), String> {
    let one = Series {
        name: String::new(),
        xs: xs.to_vec(),
        ys: ys.to_vec(),
    };
    chart_series(path, title, "EPOCH", &[one], false)
}

/// Several lines (points joined in the order given) with a legend; `log_x` puts the x axis on
/// a log scale (parameter counts). Without `log_x` the x ticks are whole numbers (epochs).
pub fn chart_series(
    path: &Path,
    title: &str,
    x_label: &str,
    series: &[Series],
    log_x: bool,
) -> Result<(), String> {
    let mut img = RgbImage::from_pixel(W, H, Rgb([255, 255, 255]));
    let tx = |x: f64| if log_x { x.log10() } else { x };
    let lines: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.xs.iter()
                .copied()
                .zip(s.ys.iter().copied())
                .filter(|(x, y)| y.is_finite() && x.is_finite() && (!log_x || *x > 0.0))
                .map(|(x, y)| (tx(x), y))
                .collect()
        })
        .collect();
    let all: Vec<(f64, f64)> = lines.iter().flatten().copied().collect();
    let fold = |f: fn(&(f64, f64)) -> f64| {
        all.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(f(p)), b.max(f(p)))
            })
    };
    let (mut x0, mut x1) = fold(|p| p.0);
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if log_x {
        let pad = 0.05 * (x1 - x0);
        (x0, x1) = (x0 - pad, x1 + pad);
    }
    let (mut y0, mut y1) = fold(|p| p.1);
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + y0.abs().max(1.0) * 0.1;
    }
    let pad = 0.05 * (y1 - y0);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let (pw, ph) = (
        (W as i64 - LEFT - RIGHT) as f64,
        (H as i64 - TOP - BOTTOM) as f64,
    );
    let sx = |x: f64| LEFT as f64 + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP as f64 + (1.0 - (y - y0) / (y1 - y0)) * ph;
    let grey = Rgb([220, 220, 220]);
    for k in 0..=5 {
        let v = y0 + (y1 - y0) * k as f64 / 5.0;
        let y = sy(v);
        line(&mut img, (LEFT as f64, y), (LEFT as f64 + pw, y), grey, 1);
        text(&mut img, 4, y as i64 - 3, &fmt_tick(v), false);
    }
    let ticks: Vec<(f64, String)> = if log_x {
        // 1, 2 and 5 times the powers of ten inside the range.
        let mut t = vec![];
        for e in (x0.floor() as i32)..=(x1.ceil() as i32) {
            for m in [1.0, 2.0, 5.0] {
                let v = m * 10f64.powi(e);
                if (x0..=x1).contains(&v.log10()) {
                    t.push((v.log10(), fmt_tick(v)));
                }
            }
        }
        t
    } else {
        // Whole numbers, at most about 10 labels.
        let span = (x1 - x0).round().max(1.0) as usize;
        let every = span.div_ceil(10).max(1);
        (0..=span)
            .step_by(every)
            .map(|k| (x0 + k as f64, fmt_tick(x0 + k as f64)))
            .collect()
    };
    for (v, label) in &ticks {
        let x = sx(*v);
        line(&mut img, (x, TOP as f64), (x, TOP as f64 + ph), grey, 1);
        text(&mut img, x as i64 - 6, H as i64 - BOTTOM + 8, label, false);
    }
    let black = Rgb([0, 0, 0]);
    line(
        &mut img,
        (LEFT as f64, TOP as f64 + ph),
        (LEFT as f64 + pw, TOP as f64 + ph),
        black,
        1,
    );
    line(
        &mut img,
        (LEFT as f64, TOP as f64),
        (LEFT as f64, TOP as f64 + ph),
        black,
        1,
    );
    text(&mut img, LEFT, 10, title, true);
    let label_x = W as i64 / 2 - (x_label.len() as i64 * 6);
    text(&mut img, label_x, H as i64 - 22, x_label, true);
    for (i, pts) in lines.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let colour = Rgb(c);
        for w in pts.windows(2) {
            line(
                &mut img,
                (sx(w[0].0), sy(w[0].1)),
                (sx(w[1].0), sy(w[1].1)),
                colour,
                3,
            );
        }
        for p in pts {
            for d in -3..=3 {
                line(
                    &mut img,
                    (sx(p.0) - 3.0, sy(p.1) + d as f64),
                    (sx(p.0) + 3.0, sy(p.1) + d as f64),
                    colour,
                    1,
                );
            }
        }
        let name = &series[i].name;
        if !name.is_empty() {
            // Legend in the top-left corner of the plot area, one line per series.
            let ly = TOP + 6 + i as i64 * 11;
            for d in 0..7 {
                line(
                    &mut img,
                    (LEFT as f64 + 8.0, (ly + d) as f64),
                    (LEFT as f64 + 20.0, (ly + d) as f64),
                    colour,
                    1,
                );
            }
            text_in(&mut img, LEFT + 26, ly, name, false, black);
        }
    }
    img.save(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `loss.png` and `metric.png` in `dir` from its `log.jsonl`.
pub fn write_plots(dir: &Path) -> Result<(), String> {
    let log = std::fs::read_to_string(dir.join("log.jsonl")).map_err(|e| e.to_string())?;
    let (mut ep, mut loss, mut metric) = (vec![], vec![], vec![]);
    let mut pose = true;
    for l in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(l).map_err(|e| e.to_string())?;
        ep.push(v["epoch"].as_f64().unwrap_or(f64::NAN));
        loss.push(v["train_loss"].as_f64().unwrap_or(f64::NAN));
        metric.push(v["metric"].as_f64().unwrap_or(f64::NAN));
        pose = v.get("pckh").is_some();
    }
    if ep.is_empty() {
        return Ok(());
    }
    chart(&dir.join("loss.png"), "TRAINING LOSS", &ep, &loss)?;
    let title = if pose {
        "VALIDATION PCKH@0.5 (%)"
    } else {
        "VALIDATION MIOU (NO BACKGROUND)"
    };
    chart(&dir.join("metric.png"), title, &ep, &metric)
}
