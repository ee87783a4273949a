//! The training loop on tiny synthetic data: it learns, resumes bit-identically, writes its
//! checkpoints atomically, and rejects bad configurations by key.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use tnet_train::checkpoint::Checkpoint;
use tnet_train::run::build_network;
use tnet_train::{RunOptions, TrainConfig, train};

fn tiny(data: &Path, extra: &[&str]) -> TrainConfig {
    let mut o: Vec<String> = vec![
        format!("data.dir={:?}", data.display().to_string()),
        "data.synthetic_train=24".into(),
        "data.synthetic_val=6".into(),
        "data.synthetic_size=64".into(),
        "model.features=8".into(),
        "batch_size=4".into(),
        "epochs=2".into(),
        "max_steps_per_epoch=3".into(),
        "threads=2".into(),
    ];
    o.extend(extra.iter().map(|s| s.to_string()));
    TrainConfig::load(None, &o).unwrap()
}

fn opts(dir: &Path, resume: bool, stop: bool) -> RunOptions {
    RunOptions {
        run_dir: dir.to_path_buf(),
        resume,
        init_from: None,
        quiet: true,
        stop: Arc::new(AtomicBool::new(stop)),
        replicas: Default::default(),
    }
}

fn params_of(path: &Path) -> Vec<(String, Vec<f32>)> {
    let ck = Checkpoint::load(path, &Device::Cpu).unwrap();
    let mut v: Vec<(String, Vec<f32>)> = ck
        .model
        .iter()
        .map(|(k, t)| (k.clone(), t.flatten_all().unwrap().to_vec1().unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn resume_after_an_interruption_is_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = tiny(&data, &[]);
    let full = tmp.path().join("full");
    let s = train(&cfg, &Device::Cpu, &opts(&full, false, false)).unwrap();
    assert_eq!((s.epochs_done, s.steps), (2, 6));
    // Interrupted after its first step (mid-epoch), then resumed to the end.
    let cut = tmp.path().join("cut");
    let s1 = train(&cfg, &Device::Cpu, &opts(&cut, false, true)).unwrap();
    assert!(s1.interrupted);
    assert_eq!(s1.steps, 1);
    let s2 = train(&cfg, &Device::Cpu, &opts(&cut, true, false)).unwrap();
    assert_eq!((s2.epochs_done, s2.steps), (2, 6));
    let a = params_of(&full.join("last.safetensors"));
    let b = params_of(&cut.join("last.safetensors"));
    assert_eq!(a.len(), b.len());
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(
            va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{na} differs"
        );
    }
    // The logs agree too (same losses and metrics per epoch).
    let la = std::fs::read_to_string(full.join("log.jsonl")).unwrap();
    let lb = std::fs::read_to_string(cut.join("log.jsonl")).unwrap();
    let strip = |s: &str| -> Vec<(f64, f64)> {
        s.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["train_loss"].as_f64().unwrap(),
                    v["metric"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&la), strip(&lb));
    // Same run resumed once more: nothing left to do is a clear error.
    assert!(train(&cfg, &Device::Cpu, &opts(&cut, true, false)).is_err());
}

/// A few training steps on one fixed batch lower the loss, for every parametrization (docs/model.md
/// initialization: Kaiming heads, so the first steps have a large loss to remove).
#[test]
fn a_few_steps_lower_the_loss_on_a_fixed_batch_for_every_parametrization() {
    use tnet_train::run::{StepBatch, train_step};
    for param in [
        vec!["model.param=\"dense\""],
        vec!["model.param=\"tucker\"", "model.compression=3.0"],
        vec!["model.param=\"cp\"", "model.rank=16"],
        vec!["model.param=\"tt\"", "model.rank=4"],
        vec!["model.param=\"layer-tucker\"", "model.compression=4.0"],
        vec!["model.param=\"layer-cp\"", "model.rank=3"],
        vec!["model.param=\"layer-tt\"", "model.ranks=[1, 3, 4, 3, 1]"],
        vec!["model.param=\"cp\"", "model.compression=10.0"],
        vec!["model.param=\"tt\"", "model.compression=10.0"],
    ] {
        let mut o: Vec<String> = vec!["model.features=8".into(), "optimizer.name=\"adamw\"".into()];
        o.extend(param.iter().map(|s| s.to_string()));
        let cfg = TrainConfig::load_with(None, &o, true).unwrap();
        let net = build_network(&cfg, &Device::Cpu).unwrap();
        let params = net.params().trainable_owned();
        let mut opt = tnet_train::Optimizer::new(cfg.optimizer.clone(), params).unwrap();
        let net_cfg = net.config().clone();
        let (images, heatmaps, weights) =
            tnet_train::bench::random_pose_batch(&net_cfg, 4, 3, &Device::Cpu).unwrap();
        let batch = StepBatch::Pose {
            images,
            heatmaps,
            weights,
        };
        let losses: Vec<f64> = (0..15)
            .map(|_| train_step(&net, &mut opt, &batch, 2e-3).unwrap())
            .collect();
        assert!(losses[14] < 0.8 * losses[0], "{param:?}: {losses:?}");
        assert!(
            losses.windows(2).filter(|w| w[1] < w[0]).count() >= 12,
            "{param:?}: {losses:?}"
        );
    }
}

#[test]
fn a_failed_checkpoint_write_keeps_the_last_good_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = tiny(&data, &["epochs=1", "max_steps_per_epoch=1"]);
    let dir = tmp.path().join("run");
    train(&cfg, &Device::Cpu, &opts(&dir, false, false)).unwrap();
    let last = dir.join("last.safetensors");
    let before = std::fs::read(&last).unwrap();
    // A writer that dies mid-file leaves only the temporary file; `last` is untouched.
    std::fs::write(
        dir.join("last.safetensors.tmp"),
        &before[..before.len() / 2],
    )
    .unwrap();
    assert!(Checkpoint::load(&last, &Device::Cpu).is_ok());
    // A write that fails (the temporary path is a folder) reports an error and keeps `last`.
    std::fs::remove_file(dir.join("last.safetensors.tmp")).unwrap();
    std::fs::create_dir(dir.join("last.safetensors.tmp")).unwrap();
    let net = build_network(&cfg, &Device::Cpu).unwrap();
    let meta = Checkpoint::load(&last, &Device::Cpu).unwrap().meta;
    assert!(tnet_train::checkpoint::save(&last, &net, None, &meta).is_err());
    assert_eq!(std::fs::read(&last).unwrap(), before);
    // A truncated checkpoint is refused with a message naming the file.
    let broken = dir.join("broken.safetensors");
    std::fs::write(&broken, &before[..before.len() / 3]).unwrap();
    let e = Checkpoint::load(&broken, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("broken.safetensors"), "{e}");
}

#[test]
fn a_checkpoint_of_another_configuration_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = tiny(&data, &["epochs=1", "max_steps_per_epoch=1"]);
    let dir = tmp.path().join("run");
    train(&cfg, &Device::Cpu, &opts(&dir, false, false)).unwrap();
    let other = tiny(&data, &["model.features=12"]);
    let net = build_network(&other, &Device::Cpu).unwrap();
    let ck = Checkpoint::load(&dir.join("last.safetensors"), &Device::Cpu).unwrap();
    let e = ck.restore_model(&net).err().unwrap().to_string();
    assert!(e.contains("another configuration"), "{e}");
}

#[test]
fn configuration_errors_name_the_key() {
    let e = TrainConfig::load(None, &["epochz=3".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("epochz"), "{e}");
    let e = TrainConfig::load(None, &["model.parm=\"cp\"".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("parm"), "{e}");
    let e = TrainConfig::load(None, &["batch_size=1".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("batch_size"), "{e}");
    let e = TrainConfig::load(None, &["schedule.lr=-1".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("schedule.lr"), "{e}");
    let e = TrainConfig::load(None, &["task=\"walk\"".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("task") || e.contains("walk"), "{e}");
    let e = TrainConfig::load(None, &["data.kind=\"mpii\"".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("data.dir"), "{e}");
    let e = TrainConfig::load(None, &["model.compression=0.5".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("compression"), "{e}");
    // Values out of range, each named by its key.
    for (set, key) in [
        ("data.sigma=inf", "data.sigma"),
        ("data.sigma=nan", "data.sigma"),
        ("schedule.gamma=inf", "schedule.gamma"),
        ("schedule.gamma=0", "schedule.gamma"),
        ("optimizer.beta1=5", "optimizer.beta1"),
        ("optimizer.beta2=1", "optimizer.beta2"),
        ("optimizer.eps=0", "optimizer.eps"),
        ("optimizer.weight_decay=-1", "optimizer.weight_decay"),
        ("data.synthetic_val=0", "data.synthetic_val"),
        ("data.val_limit=0", "data.val_limit"),
        ("model.head_init_std=nan", "model.head_init_std"),
    ] {
        let e = TrainConfig::load(None, &[set.into()])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(key), "{set}: {e}");
    }
    let e = TrainConfig::load(
        None,
        &[
            "optimizer.name=\"rmsprop\"".into(),
            "optimizer.alpha=1".into(),
        ],
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("optimizer.alpha"), "{e}");
    let e = TrainConfig::load(None, &["noequals".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("key=value"), "{e}");
    // A config file with an unknown key names the file and the key.
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("c.toml");
    std::fs::write(&f, "epochs = 2\n[model]\nfeaturez = 8\n").unwrap();
    let e = TrainConfig::load(Some(&f), &[]).err().unwrap().to_string();
    assert!(e.contains("featurez"), "{e}");
    // The embedded default is valid.
    let d = TrainConfig::load(None, &[]).unwrap();
    assert!(d.network().unwrap().compression_ratio() >= 10.0);
    assert_eq!(d.precision, tnet_train::config::Precision::F32);
    // Per-layer parametrizations need their ranks; bf16 needs a GPU.
    let e = TrainConfig::load_with(None, &["model.param=\"layer-tucker\"".into()], true)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("layer-") && e.contains("model.compression"),
        "{e}"
    );
    let e = TrainConfig::load(None, &["precision=\"bf16\"".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("precision:") && e.contains("cuda"), "{e}");
    let e = TrainConfig::load(None, &["precision=\"f8\"".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("f8"), "{e}");
    // A config written before the precision key existed still loads (f32).
    let old = d.to_toml().replace("precision = \"f32\"\n", "");
    assert!(!old.contains("precision"));
    let o: TrainConfig = toml::from_str(&old).unwrap();
    assert_eq!(o.precision, tnet_train::config::Precision::F32);
    let f16 = TrainConfig::load(None, &["precision=\"f16\"".into()]).unwrap();
    assert_eq!(f16.precision.conv_dtype(), Some(candle_core::DType::F16));
}

/// A diverging run stops with a clear error before the update, and keeps the last checkpoint.
#[test]
fn a_non_finite_loss_stops_the_run_and_keeps_the_last_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = tmp.path().join("run");
    let ok = tiny(&data, &["epochs=1", "max_steps_per_epoch=2"]);
    train(&ok, &Device::Cpu, &opts(&dir, false, false)).unwrap();
    let before = std::fs::read(dir.join("last.safetensors")).unwrap();
    // Continue the same run with an absurd learning rate: the loss overflows.
    let mut bad = ok.clone();
    bad.epochs = 3;
    bad.schedule.lr = 1e30;
    let e = train(&bad, &Device::Cpu, &opts(&dir, true, false)).expect_err("diverges");
    let msg = e.to_string();
    assert!(msg.contains("the loss became"), "{msg}");
    assert!(msg.contains("last.safetensors"), "{msg}");
    assert_eq!(std::fs::read(dir.join("last.safetensors")).unwrap(), before);
}

#[test]
fn a_second_training_into_a_locked_run_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    // Another process's training holds the folder's lock (a second open file description
    // locks as another process would).
    let held = std::fs::File::create(run.join("run.lock")).unwrap();
    held.lock().unwrap();
    let cfg = tiny(&tmp.path().join("data"), &[]);
    let err = train(&cfg, &Device::Cpu, &opts(&run, false, false)).unwrap_err();
    assert!(err.to_string().contains("another training"), "{err}");
    assert!(!run.join("log.jsonl").exists(), "nothing written");
    // Released (the other training ended): this one runs.
    drop(held);
    train(&cfg, &Device::Cpu, &opts(&run, false, false)).unwrap();
    assert!(run.join("last.safetensors").is_file());
}

#[test]
fn networks_beyond_the_machine_or_the_size_ceilings_are_refused_before_allocating() {
    // 60000 features: a 3 TB kernel tensor, refused with the numbers by the memory budget.
    let cfg = TrainConfig::load(None, &["model.features=60000".into()]).unwrap();
    if tnet_tensor::memory::machine_memory().is_some() {
        let Err(err) = build_network(&cfg, &Device::Cpu) else {
            panic!("a 3 TB network was built");
        };
        assert!(err.to_string().contains("needs about"), "{err}");
    }
    // Beyond the size ceiling: refused by key, whatever the machine.
    let err = TrainConfig::load(None, &["model.features=100000".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("features is 100000, above the largest"),
        "{err}"
    );
    // The default network fits.
    let small = tiny(Path::new("/nonexistent"), &[]);
    assert!(build_network(&small, &Device::Cpu).is_ok());
}

#[test]
fn a_checkpoint_with_nan_weights_is_refused_naming_the_parameter() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let cfg = tiny(&tmp.path().join("data"), &["epochs=1"]);
    train(&cfg, &Device::Cpu, &opts(&run, false, false)).unwrap();
    let path = run.join("last.safetensors");
    let mut all = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    let name = all
        .keys()
        .find(|k| k.starts_with("model.tensor."))
        .unwrap()
        .clone();
    let t = &all[&name];
    let nan = (t.ones_like().unwrap() * f64::NAN).unwrap();
    all.insert(name.clone(), nan);
    let poisoned = run.join("nan.safetensors");
    candle_core::safetensors::save(&all, &poisoned).unwrap();
    let err = Checkpoint::load(&poisoned, &Device::Cpu)
        .err()
        .map(|e| e.to_string());
    let err = err.expect("refused");
    assert!(
        err.contains("NaN") && err.contains(name.trim_start_matches("model.")),
        "{err}"
    );
    assert!(Checkpoint::load(&path, &Device::Cpu).is_ok());
}

#[test]
fn a_run_folders_config_file_loads_back_unchanged() {
    // The file a run writes (`config.toml`) must train the same network when passed back with
    // `--config`, whatever parametrization it picks: the embedded default's compression
    // belongs to the default's Tucker, not to the file's dense or CP network.
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("config.toml");
    for param in [
        vec!["model.param=\"dense\""],
        vec!["model.param=\"cp\"", "model.rank=16"],
        vec!["model.param=\"tucker\"", "model.ranks=[1,2,2,1,8,8,2,2]"],
    ] {
        let o: Vec<String> = param.iter().map(|s| s.to_string()).collect();
        let cfg = TrainConfig::load_with(None, &o, true).unwrap();
        std::fs::write(&f, cfg.to_toml()).unwrap();
        let back = TrainConfig::load(Some(&f), &[]).unwrap_or_else(|e| panic!("{param:?}: {e}"));
        assert_eq!(back.to_toml(), cfg.to_toml(), "{param:?}");
    }
    // Ranks of a file's own replace the default's compression.
    std::fs::write(&f, "[model]\nranks = [1, 2, 2, 1, 8, 8, 2, 2]\n").unwrap();
    let d = TrainConfig::load(Some(&f), &[]).unwrap();
    assert_eq!(d.model.compression, None);
    // A file that names no other parametrization keeps the default's, ranks included.
    for text in ["epochs = 2\n", "[model]\nparam = \"tucker\"\n"] {
        std::fs::write(&f, text).unwrap();
        let d = TrainConfig::load(Some(&f), &[]).unwrap();
        assert!(d.network().unwrap().compression_ratio() >= 10.0, "{text}");
    }
    // Another parametrization without its ranks is refused, naming what it needs.
    std::fs::write(&f, "[model]\nparam = \"cp\"\n").unwrap();
    let e = TrainConfig::load(Some(&f), &[]).err().unwrap().to_string();
    assert!(
        e.contains("cp takes exactly one of rank or compression"),
        "{e}"
    );
}
