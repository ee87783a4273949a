//! The study's grid and its resume: an interrupted study continues where it stopped.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;
use tnet_train::config::{DataKind, Task};
use tnet_train::study::{Budget, StudyOptions, StudySettings, Table, run_study};

const SMALL: [usize; 8] = [1, 4, 3, 2, 32, 32, 3, 3];

#[test]
fn table_a_halves_one_mode_at_a_time() {
    use tnet_train::study::grid::reduced_rank;
    assert_eq!(reduced_rank(1), None);
    assert_eq!(reduced_rank(2), Some(1));
    assert_eq!(reduced_rank(3), Some(2));
    assert_eq!(reduced_rank(4), Some(2));
    assert_eq!(reduced_rank(32), Some(16));
    let a = tnet_train::study::grid::table_a("pose", &SMALL);
    assert_eq!(a.len(), 7, "every mode but the single stack");
    assert!(a.iter().all(|p| p.table == Table::A));
    assert!(a.iter().any(|p| {
        p.model
            .contains(&"model.ranks=[1, 4, 3, 2, 16, 32, 3, 3]".to_string())
    }));
}

#[test]
fn table_b_has_full_rank_controls_and_unique_ids() {
    use tnet_train::study::grid::full_tt_ranks;
    // r_k = min(prod of the modes before, prod of the modes after), by hand.
    assert_eq!(full_tt_ranks(&SMALL), vec![1, 1, 4, 12, 24, 288, 9, 3, 1]);
    let b = tnet_train::study::grid::table_b("pose", &SMALL);
    let mut ids: Vec<&str> = b.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), b.len(), "ids are unique");
    let full = |id: &str| b.iter().find(|p| p.id == id).unwrap().model.clone();
    assert!(full("B-tucker-full").contains(&format!("model.ranks={SMALL:?}")));
    assert!(full("B-tt-full").contains(&"model.ranks=[1, 1, 4, 12, 24, 288, 9, 3, 1]".into()));
    assert!(full("B-layer-tucker-full").contains(&"model.ranks=[32, 32, 3, 3]".into()));
    // Every full-rank configuration really is full rank (compression below 1).
    let settings = settings(Path::new("/nonexistent"));
    for id in ["B-tucker-full", "B-tt-full", "B-layer-tucker-full"] {
        let p = b.iter().find(|p| p.id == id).unwrap();
        let mut s = settings.clone();
        s.sets.retain(|x| !x.starts_with("model.features"));
        let cfg = tnet_train::study::run_config(&s, p, 0, None).unwrap();
        let ratio = cfg.network().unwrap().compression_ratio();
        assert!(ratio <= 1.0, "{id}: {ratio}");
    }
}

#[test]
fn tuning_and_scarce_runs_use_their_own_data() {
    use tnet_train::study::grid::{table_d, tuning};
    let s = settings(Path::new("/data"));
    let tune = tuning("pose", &[2e-3, 4e-3]);
    assert_eq!(tune.len(), 10, "five methods, two rates");
    let cfg = tnet_train::study::run_config(&s, &tune[1], 0, tune[1].lr).unwrap();
    assert_eq!(cfg.schedule.lr, 4e-3);
    assert_eq!(cfg.data.synthetic_seed, tnet_train::study::TUNING_DATA_SEED);
    assert_eq!(cfg.data_dir(), Path::new("/data/pose-tune"));
    let d = table_d("pose", &SMALL);
    let cfg = tnet_train::study::run_config(&s, &d[0], 1, Some(2e-3)).unwrap();
    assert_eq!(cfg.data.synthetic_train, s.budget.scarce_train);
    assert_eq!(
        cfg.data.synthetic_seed, 0,
        "the main set's images and validation"
    );
    assert_eq!(cfg.data_dir(), Path::new("/data/pose-scarce"));
    assert_eq!(cfg.epochs, s.budget.scarce_epochs);
    assert_eq!((cfg.seed, cfg.schedule.lr), (1, 2e-3));
    // Real data has no tuning split: the run is reported as not run, with the reason.
    let mut mpii = s.clone();
    mpii.data = DataKind::Mpii;
    let err = tnet_train::study::run_config(&mpii, &tune[0], 0, None).unwrap_err();
    assert!(err.to_string().contains("synthetic"), "{err}");
}

fn settings(data: &Path) -> StudySettings {
    StudySettings {
        task: Task::Pose,
        data: DataKind::Synthetic,
        data_dir: Some(data.join("pose")),
        face_data: DataKind::Synthetic,
        face_data_dir: Some(data.join("face")),
        device: "cpu".into(),
        budget: Budget {
            max_steps_per_epoch: Some(2),
            scarce_train: 8,
            ..Budget::quick(1)
        },
        sets: [
            "model.features=8",
            "data.synthetic_train=16",
            "data.synthetic_val=4",
            "batch_size=4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    }
}

#[test]
fn an_interrupted_study_resumes_where_it_stopped() {
    let guard = tempfile::tempdir().unwrap();
    let dir = guard.path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(true));
    let opts = StudyOptions {
        out: dir.join("out"),
        settings: settings(&dir),
        quiet: true,
        stop: stop.clone(),
        command: "test".into(),
        commit: "test".into(),
        shard: tnet_data::pose_loader::Shard::WHOLE,
    };
    // Stop requested from the start: the first run saves a checkpoint after its first step.
    let first = run_study(&opts, &Device::Cpu).unwrap();
    assert!(first.interrupted && first.report.is_none());
    let run = dir.join("out/runs/T-dense-lr4e-3-s0");
    assert!(run.join("last.safetensors").is_file());
    assert_eq!(std::fs::read_to_string(run.join("log.jsonl")).unwrap(), "");
    stop.store(false, Ordering::SeqCst);
    let second = run_study(&opts, &Device::Cpu).unwrap();
    assert!(!second.interrupted);
    assert_eq!(second.runs_skipped_done, 0);
    assert_eq!(
        second.runs_trained + second.runs_unreachable,
        second.runs_total
    );
    // The resumed run finished its one epoch of 2 steps.
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1);
    assert!(log.contains("\"step\":2"), "{log}");
    assert!(second.report.unwrap().is_file());
}

#[test]
fn the_full_budget_drops_the_rate_twice_before_the_end() {
    use tnet_train::study::decay_at_75_and_90_percent as drops;
    assert_eq!(drops(20), vec![15, 18]);
    assert_eq!(drops(30), vec![22, 27]);
    assert_eq!(drops(4), vec![3], "one drop when 75 % and 90 % round alike");
    assert_eq!(drops(2), vec![1]);
    assert_eq!(drops(1), Vec::<usize>::new());
    let full = Budget::full(3);
    assert_eq!((full.epochs, full.decay_epochs.clone()), (20, vec![15, 18]));
    let s = settings(Path::new("/data"));
    let d = tnet_train::study::grid::table_d("pose", &SMALL);
    let cfg = tnet_train::study::run_config(&s, &d[0], 0, None).unwrap();
    assert_eq!(
        cfg.schedule.decay_epochs,
        drops(s.budget.scarce_epochs),
        "the scarce runs drop on the same rule"
    );
}
