//! `cargo bench loader`: pose samples per second on ONE core with full augmentation, 256 x 256
//! crops from 1280 x 720 JPEGs (decode + augment + warp + targets). The bar is 150 / s / core.

use std::sync::atomic::AtomicUsize;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tnet_data::mpii::MpiiPerson;
use tnet_data::pose_loader::{Augment, OnBadImage, PoseDataset, SampleConfig, make_batch};
use tnet_data::synth_pose::{render_person_wh, save_jpeg};
use tnet_tensor::random::SeededRng;

/// 16 rendered people on 1280 x 720 JPEGs in a temporary folder.
fn dataset(dir: &std::path::Path) -> PoseDataset {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = SeededRng::new(42);
    let people: Vec<MpiiPerson> = (0..16)
        .map(|i| {
            let p = render_person_wh(&mut rng, 1280, 720);
            let file = format!("{i}.jpg");
            save_jpeg(&dir.join(&file), &p.image.view()).unwrap();
            MpiiPerson {
                image: file,
                center: [p.center[0] + 1.0, p.center[1] + 1.0],
                scale: p.scale,
                joints: Some(p.joints.map(|[x, y]| [x + 1.0, y + 1.0])),
                visible: Some(p.visible),
                is_validation: None,
                others: Vec::new(),
            }
        })
        .collect();
    PoseDataset {
        people,
        images: dir.to_path_buf(),
    }
}

fn loader(c: &mut Criterion) {
    let cfg = SampleConfig {
        input_size: 256,
        stride: 4,
        sigma: 1.0,
        augment: Some(Augment::HOURGLASS),
    };
    let indices: Vec<usize> = (0..16).collect();
    let skipped = AtomicUsize::new(0);
    let mut g = c.benchmark_group("loader");
    g.sample_size(10);
    g.throughput(Throughput::Elements(indices.len() as u64));
    // Set up lazily: criterion runs this closure only when the benchmark is selected (and
    // several times then), so `cargo bench decompositions` does not render the images.
    let dir = std::env::temp_dir().join(format!("tnet-loader-bench-{}", std::process::id()));
    let ds = std::cell::OnceCell::new();
    let one_core = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut epoch = 0;
    g.bench_function("pose_1280x720_jpeg_to_256_one_core", |b| {
        let ds = ds.get_or_init(|| dataset(&dir));
        b.iter(|| {
            epoch += 1;
            one_core.install(|| {
                make_batch(ds, &indices, &cfg, 0, epoch, OnBadImage::Stop, &skipped).unwrap()
            })
        });
    });
    g.finish();
    if ds.get().is_some() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

criterion_group!(benches, loader);
criterion_main!(benches);
