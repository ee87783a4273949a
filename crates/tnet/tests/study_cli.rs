//! `tnet study --quick` on a tiny budget: the whole grid runs, the report has every table
//! filled, a second call reuses the finished runs, and another study's settings are refused.

mod common;

use common::{temp_dir, tiny_study as tiny, tnet};

fn run(args: &[String]) -> std::process::Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    tnet(&refs)
}

/// The lines of the Markdown table under `heading` (header and separator excluded).
fn table<'a>(md: &'a str, heading: &str) -> Vec<&'a str> {
    let start = md.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    md[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

fn has_number(cell: &str) -> bool {
    cell.trim()
        .split(' ')
        .next()
        .is_some_and(|v| v.parse::<f64>().is_ok())
}

#[test]
fn quick_study_runs_the_grid_and_writes_every_table() {
    let (_dir_guard, dir) = temp_dir("study");
    let out = dir.join("out");
    let args = tiny(&out, &dir);
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let md = std::fs::read_to_string(out.join("README.md")).unwrap();

    // Table B: every method, each row a number (or why it cannot be built at this size).
    let b = table(&md, "## Table B");
    for method in [
        "| dense |",
        "| T-Net Tucker |",
        "| T-Net CP |",
        "| T-Net TT |",
        "| per-layer Tucker-2 |",
        "| dense, HOOI, fine-tuned |",
        "| T-Net Tucker + tensor dropout |",
    ] {
        assert!(b.iter().any(|l| l.starts_with(method)), "{method} missing");
    }
    assert_eq!(b.len(), 12, "{b:?}");
    let mut trained = 0;
    for row in &b {
        let cells: Vec<&str> = row.split('|').collect();
        if row.contains("n/a: ") {
            assert!(row.contains("out of reach"), "{row}");
        } else {
            assert!(has_number(cells[3]), "learning rate of {row}");
            assert!(has_number(cells[7]), "metric of {row}");
            assert!(has_number(cells[8]), "Head of {row}");
            assert!(has_number(cells[16]), "left/right pairs of {row}");
            trained += 1;
        }
    }
    assert!(trained >= 10, "{trained} rows trained");
    // T-Net Tucker at full rank, then at 4, 10, 30x, reaches every target.
    let tucker: Vec<&&str> = b
        .iter()
        .filter(|l| l.starts_with("| T-Net Tucker |"))
        .collect();
    assert!(tucker[0].starts_with("| T-Net Tucker | full rank |"));
    for (rate, row) in [4.0, 10.0, 30.0].iter().zip(&tucker[1..]) {
        let comp: f64 = row
            .split('|')
            .nth(4)
            .unwrap()
            .trim()
            .trim_end_matches('x')
            .parse()
            .unwrap();
        assert!(comp >= *rate, "{row}");
    }

    // Table A: the 7 modes of size > 1 (stacks is 1 here), each with a number.
    let a = table(&md, "## Table A");
    for mode in ["depth", "pathways", "b_depth", "f_out", "f_in", "h", "w"] {
        assert!(
            a.iter().any(|l| l.starts_with(&format!("| {mode} |"))),
            "{mode}"
        );
    }
    assert_eq!(a.len(), 7, "{a:?}");
    assert!(a.iter().all(|l| has_number(l.split('|').nth(5).unwrap())));
    assert!(md.contains("nothing to reduce): stacks"));

    // Table C: dense and two compressed configurations on faces.
    let c = table(&md, "## Table C");
    assert_eq!(c.len(), 3, "{c:?}");
    assert!(c[0].starts_with("| dense |"));
    assert!(
        !c.iter().any(|l| l.contains("full rank")),
        "only compressed rows: {c:?}"
    );
    assert!(c.iter().all(|l| has_number(l.split('|').nth(4).unwrap())));

    // The learning-rate sweep: five methods at two rates and the fine-tuning at two, one
    // chosen (bold) per method; Table D: dense and T-Net Tucker at full rank, 4x and 10x.
    let t = table(&md, "## Learning rates");
    assert_eq!(t.len(), 12, "{t:?}");
    assert!(t.iter().all(|l| has_number(l.split('|').nth(4).unwrap())));
    assert_eq!(t.iter().filter(|l| l.contains("**")).count(), 6, "{t:?}");
    let d = table(&md, "## Table D");
    assert_eq!(d.len(), 4, "{d:?}");
    assert!(d.iter().all(|l| has_number(l.split('|').nth(5).unwrap())));
    assert!(md.contains("Cost of the parametrization"));

    // Plots, conclusion, and the run folders the numbers come from.
    for png in [
        "metric_vs_params.png",
        "curves_metric.png",
        "curves_loss.png",
    ] {
        let img = image::open(out.join(png)).unwrap_or_else(|e| panic!("{png}: {e}"));
        assert_eq!((img.width(), img.height()), (640, 400));
    }
    assert!(md.contains("Low compression beats the uncompressed network"));
    assert!(md.contains("One tensor beats per-layer factorization"));
    assert!(md.contains("`runs/B-tucker-10x-s0`"));
    let log = std::fs::read_to_string(out.join("runs/B-tucker-10x-s0/log.jsonl")).unwrap();
    let metric: f64 = serde_json::from_str::<serde_json::Value>(log.lines().last().unwrap())
        .unwrap()["metric"]
        .as_f64()
        .unwrap();
    let row = b
        .iter()
        .find(|l| l.starts_with("| T-Net Tucker | 10x"))
        .unwrap();
    assert_eq!(
        row.split('|').nth(7).unwrap().trim(),
        format!("{metric:.2}")
    );

    // Again: nothing is retrained and the report is the same.
    let o = run(&args);
    assert!(o.status.success());
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("0 trained now"), "{said}");
    let again = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert_eq!(table(&again, "## Table B"), b);

    // The same study split over two processes started together (`--shard`): every run is
    // trained once, by one of them, and shard 0's report has the same tables.
    let sharded = dir.join("sharded");
    let shard = |i: usize| {
        let mut a = tiny(&sharded, &dir);
        a.push("--shard".into());
        a.push(format!("{i}/2"));
        std::process::Command::new(env!("CARGO_BIN_EXE_tnet"))
            .args(&a)
            .output()
            .unwrap()
    };
    let (o0, o1) = std::thread::scope(|s| {
        let h0 = s.spawn(|| shard(0));
        let h1 = s.spawn(|| shard(1));
        (h0.join().unwrap(), h1.join().unwrap())
    });
    for o in [&o0, &o1] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // Both trained a share: "shard 1 of 2: K runs trained", "N runs: M trained now, ...".
    let count_before = |o: &std::process::Output, word: &str| -> usize {
        let said = String::from_utf8_lossy(&o.stdout).to_string();
        let words: Vec<&str> = said.split_whitespace().collect();
        let at = words.iter().position(|w| *w == word);
        at.and_then(|k| words.get(k.checked_sub(1)?)?.parse().ok())
            .unwrap_or_else(|| panic!("{said}"))
    };
    assert!(count_before(&o1, "runs") > 0 && count_before(&o0, "trained") > 0);
    let split = std::fs::read_to_string(sharded.join("README.md")).unwrap();
    for heading in [
        "## Table A",
        "## Table B",
        "## Table C",
        "## Table D",
        "## Learning rates",
    ] {
        assert_eq!(table(&split, heading), table(&md, heading), "{heading}");
    }
    let invocations = std::fs::read_to_string(sharded.join("invocations.jsonl")).unwrap();
    assert_eq!(
        invocations.lines().count(),
        1,
        "shard 0 alone logs the study"
    );

    // Another study in the same folder is refused, naming what differs.
    let mut other = args.clone();
    other.push("--seeds".into());
    other.push("2".into());
    let o = run(&other);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or("");
    assert!(
        line.contains("other settings") && line.contains("budget was"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{err}"
    );
}
