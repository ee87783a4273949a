//! Data-parallel training with replicas as threads of one process ([`ThreadGroup`]; the `tnet`
//! binary's MPI world runs the same code, tested under `mpirun` in `crates/tnet/tests/mpi.rs`):
//! two replicas with half the batch each train the single process's network, validation
//! shared by the replicas gives the single process's report, and only the first replica writes.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use tnet_train::checkpoint::Checkpoint;
use tnet_train::data::TaskData;
use tnet_train::distributed::{Collective, Replicas, SingleProcess, ThreadGroup};
use tnet_train::eval::{ValidateOptions, validate, validate_replicated};
use tnet_train::run::build_network;
use tnet_train::{RunOptions, RunSummary, TrainConfig, train};

/// 160 training images in batches of 16: 10 steps per epoch, 20 in all.
fn config(data: &Path, extra: &[&str]) -> TrainConfig {
    let mut o: Vec<String> = vec![
        format!("data.dir={:?}", data.display().to_string()),
        "data.synthetic_train=160".into(),
        "data.synthetic_val=12".into(),
        "data.synthetic_size=64".into(),
        "model.features=8".into(),
        "batch_size=16".into(),
        "epochs=2".into(),
        "threads=2".into(),
    ];
    o.extend(extra.iter().map(|s| s.to_string()));
    TrainConfig::load(None, &o).unwrap()
}

fn run(cfg: &TrainConfig, dir: &Path, group: Arc<dyn Collective>, sync_bn: bool) -> RunSummary {
    let opts = RunOptions {
        run_dir: dir.to_path_buf(),
        resume: false,
        init_from: None,
        quiet: true,
        stop: Arc::new(AtomicBool::new(false)),
        replicas: Replicas { group, sync_bn },
    };
    train(cfg, &Device::Cpu, &opts).unwrap()
}

/// Trains with `n` thread replicas into one folder (as MPI ranks on a shared file system).
fn run_replicated(cfg: &TrainConfig, dir: &Path, n: usize, sync_bn: bool) -> Vec<RunSummary> {
    std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(n)
            .into_iter()
            .map(|member| s.spawn(move || run(cfg, dir, Arc::new(member), sync_bn)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `||a - b|| / ||a||` over all the checkpoints' tensors together.
fn relative_difference(a: &Path, b: &Path) -> f64 {
    let (a, b) = (
        Checkpoint::load(a, &Device::Cpu).unwrap(),
        Checkpoint::load(b, &Device::Cpu).unwrap(),
    );
    assert_eq!(a.model.len(), b.model.len());
    let (mut diff, mut norm) = (0f64, 0f64);
    for (name, ta) in &a.model {
        let va: Vec<f32> = ta.flatten_all().unwrap().to_vec1().unwrap();
        let vb: Vec<f32> = b.model[name].flatten_all().unwrap().to_vec1().unwrap();
        diff += va
            .iter()
            .zip(&vb)
            .map(|(x, y)| ((x - y) as f64).powi(2))
            .sum::<f64>();
        norm += va.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
    }
    (diff / norm).sqrt()
}

fn metrics(dir: &Path) -> Vec<f64> {
    std::fs::read_to_string(dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["metric"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

/// The training loop with two replicas, in f32, one step and its validation:
/// the single process's parameters within float summation noise, its metrics, one log. (Over
/// many f32 steps AdamW turns summation-order noise in near-zero gradients into whole steps, so
/// the exactness of the arithmetic is held to account in f64, below.)
#[test]
fn two_replicas_of_half_the_batch_train_the_single_process_network() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(
        &tmp.path().join("data"),
        &["epochs=1", "max_steps_per_epoch=1"],
    );
    let single = tmp.path().join("single");
    let s = run(&cfg, &single, Arc::new(SingleProcess), true);
    assert_eq!((s.steps, s.epochs_done), (1, 1));
    let pair = tmp.path().join("pair");
    let summaries = run_replicated(&cfg, &pair, 2, true);
    assert!(summaries.iter().all(|x| x.steps == 1 && x.epochs_done == 1));
    let last = |d: &Path| d.join("last.safetensors");
    let gap = relative_difference(&last(&single), &last(&pair));
    assert!(gap < 1e-4, "parameters differ by {gap:e} (relative)");
    // One log, written once per epoch by the first replica, with the single process's metric.
    let (m1, m2) = (metrics(&single), metrics(&pair));
    assert_eq!(m2.len(), 1);
    assert!(
        m1.iter().zip(&m2).all(|(a, b)| (a - b).abs() < 1e-9),
        "{m1:?} {m2:?}"
    );

    // The check can fail: each replica normalizing its own half batch is another training.
    let own_bn = tmp.path().join("own-bn");
    run_replicated(&cfg, &own_bn, 2, false);
    let own_gap = relative_difference(&last(&single), &last(&own_bn));
    assert!(
        own_gap > 10.0 * gap,
        "per-replica BatchNorm: {own_gap:e} against {gap:e}"
    );
}

/// The steps' arithmetic in f64, where float summation order cannot hide a wrong term: two
/// replicas with synchronized BatchNorm, each on its half of every batch from the sharded
/// loader, end 20 AdamW steps on the parameters of one process with the whole batches.
#[test]
fn in_f64_two_replicas_and_one_process_take_the_same_20_steps() {
    use tnet_data::pose_loader::{EpochLoader, LoaderConfig, OnBadImage, SampleConfig, Shard};
    use tnet_hourglass::{NetOptions, TNet};
    use tnet_train::run::{StepBatch, optimizer_for, train_step_replicated};
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(&tmp.path().join("data"), &[]);
    let TaskData::Pose(data) = TaskData::load(&cfg, true).unwrap() else {
        unreachable!("a pose configuration")
    };
    let to_f64 = |a: &ndarray::Array4<f32>| {
        let d = a.dim();
        let v: Vec<f64> = a.iter().map(|&x| x as f64).collect();
        candle_core::Tensor::from_vec(v, (d.0, d.1, d.2, d.3), &Device::Cpu).unwrap()
    };
    let train_steps = |group: &dyn Collective, sync: Arc<dyn Collective>| -> Vec<Vec<f64>> {
        let opts = NetOptions {
            seed: cfg.seed,
            dtype: candle_core::DType::F64,
            cpu_kernels: false,
            head_init_std: cfg.model.head_init_std,
            ..NetOptions::default()
        };
        let net = TNet::new(&cfg.network().unwrap(), &opts, &Device::Cpu).unwrap();
        net.sync_batch_norm(Some(sync));
        let mut opt = optimizer_for(&cfg, &net).unwrap();
        let trainable = net.params().trainable_owned();
        let sample = SampleConfig {
            input_size: net.config().input_size,
            stride: 4,
            sigma: cfg.data.sigma,
            augment: Some(tnet_data::pose_loader::Augment::HOURGLASS),
        };
        let loader = LoaderConfig {
            batch_size: 16,
            shuffle: true,
            drop_last: true,
            prefetch: 1,
            seed: cfg.seed,
            on_bad_image: OnBadImage::Stop,
            shard: Shard {
                index: group.rank(),
                count: group.size(),
            },
        };
        for epoch in 0..2 {
            for b in EpochLoader::pose(data.train.clone(), sample, loader, epoch).unwrap() {
                let b = b.unwrap();
                let (n, k) = b.weights.dim();
                let batch = StepBatch::Pose {
                    images: to_f64(&b.images),
                    heatmaps: to_f64(&b.heatmaps),
                    weights: candle_core::Tensor::from_vec(
                        b.weights.iter().map(|&x| x as f64).collect::<Vec<_>>(),
                        (n, k),
                        &Device::Cpu,
                    )
                    .unwrap(),
                };
                train_step_replicated(&net, &mut opt, &batch, 4e-3, &trainable, group).unwrap();
            }
        }
        assert_eq!(opt.steps(), 20);
        trainable
            .iter()
            .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
            .collect()
    };
    let alone = train_steps(&SingleProcess, Arc::new(SingleProcess));
    let pair: Vec<Vec<Vec<f64>>> = std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(2)
            .into_iter()
            .map(|member| {
                let member: Arc<dyn Collective> = Arc::new(member);
                let train_steps = &train_steps;
                s.spawn(move || train_steps(member.as_ref(), member.clone()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (mut diff, mut norm) = (0f64, 0f64);
    for (a, b) in alone.iter().flatten().zip(pair[0].iter().flatten()) {
        diff += (a - b).powi(2);
        norm += a.powi(2);
    }
    assert_eq!(pair[0], pair[1], "the replicas drifted apart");
    let gap = (diff / norm).sqrt();
    eprintln!("f64: parameters after 20 steps differ by {gap:e} (relative)");
    assert!(gap < 1e-9, "parameters differ by {gap:e} (relative)");
}

#[test]
fn validation_shared_by_three_replicas_gives_the_single_process_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(&tmp.path().join("data"), &[]);
    let data = TaskData::load(&cfg, true).unwrap();
    let net = build_network(&cfg, &Device::Cpu).unwrap();
    let opts = ValidateOptions {
        batch: 5, // batches of 5 over 3 replicas: uneven parts, and a last batch of 2
        limit: None,
        flip: false,
        sigma: cfg.data.sigma,
        quiet: true,
    };
    let alone = validate(&net, &data, &opts, &Device::Cpu).unwrap();
    let shared: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(3)
            .into_iter()
            .map(|member| {
                let (net, data) = (&net, &data);
                s.spawn(move || validate_replicated(net, data, &opts, &Device::Cpu, &member))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect()
    });
    for v in shared {
        assert_eq!(format!("{v:?}"), format!("{alone:?}"));
    }
}

#[test]
fn a_batch_that_does_not_split_evenly_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(&tmp.path().join("data"), &[]);
    cfg.batch_size = 15;
    let errors: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = ThreadGroup::new(2)
            .into_iter()
            .map(|member| {
                let (cfg, dir) = (&cfg, tmp.path().join("run"));
                s.spawn(move || {
                    let opts = RunOptions {
                        run_dir: dir,
                        resume: false,
                        init_from: None,
                        quiet: true,
                        stop: Arc::new(AtomicBool::new(false)),
                        replicas: Replicas {
                            group: Arc::new(member),
                            sync_bn: false,
                        },
                    };
                    train(cfg, &Device::Cpu, &opts).unwrap_err().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        errors
            .iter()
            .all(|e| e.contains("batch_size 15") && e.contains("2 processes")),
        "{errors:?}"
    );
}
