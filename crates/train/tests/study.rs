//! The study's grid and its resume: an interrupted study continues where it stopped.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;
use tnet_train::config::{DataKind, Task};
use tnet_train::study::{Budget, StudyOptions, StudySettings, Table, run_study};

#[test]
fn reduced_ranks_are_half_and_minimum() {
    use tnet_train::study::grid::reduced_ranks;
    // Modes: stacks, depth, pathways, b_depth, f_out, f_in, h, w.
    assert_eq!(reduced_ranks(0, 1), Vec::<usize>::new());
    assert_eq!(reduced_ranks(0, 2), vec![1]);
    assert_eq!(reduced_ranks(1, 4), vec![2, 1]);
    assert_eq!(reduced_ranks(2, 3), vec![2, 1]);
    assert_eq!(reduced_ranks(3, 2), vec![1]);
    assert_eq!(reduced_ranks(4, 32), vec![16, 4]);
    assert_eq!(reduced_ranks(5, 128), vec![64, 16]);
    assert_eq!(reduced_ranks(6, 3), vec![2, 1]);
    let a = tnet_train::study::grid::table_a("pose", &[1, 4, 3, 2, 32, 32, 3, 3]);
    assert_eq!(a.len(), 13);
    assert!(a.iter().all(|p| p.table == Table::A));
    assert!(a.iter().any(|p| {
        p.model
            .contains(&"model.ranks=[1, 4, 3, 2, 4, 32, 3, 3]".to_string())
    }));
    let b = tnet_train::study::grid::table_b("pose");
    let mut ids: Vec<&str> = b.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), b.len(), "ids are unique");
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
    let dir = std::env::temp_dir().join(format!("tnet-study-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let stop = Arc::new(AtomicBool::new(true));
    let opts = StudyOptions {
        out: dir.join("out"),
        settings: settings(&dir),
        quiet: true,
        stop: stop.clone(),
        command: "test".into(),
        commit: "test".into(),
    };
    // Stop requested from the start: the first run saves a checkpoint after its first step.
    let first = run_study(&opts, &Device::Cpu).unwrap();
    assert!(first.interrupted && first.report.is_none());
    let run = dir.join("out/runs/B-dense-s0");
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
    std::fs::remove_dir_all(&dir).ok();
}
