//! `smoke [--seconds S] [TARGET..]`: a short mutation run of every target without AFL (the
//! check `.ci/run` makes). Each target starts from its corpus and runs seeded mutants for `S`
//! seconds (default 10); a panic, an input that takes over 2 s, or more than 1 GiB allocated
//! at once fails the run and names the target and the input's index.
//! `smoke --replay TARGET INDEX` writes that input to `smoke-TARGET-INDEX` and runs it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tnet_fuzz::mutate::{Rng, mutate};

/// What AFL's `-m 1024` allows.
const MEMORY_CAP: usize = 1 << 30;
/// What AFL's `-t 2000` allows.
const HANG: Duration = Duration::from_secs(2);
/// Mutants grow to at most this many bytes.
const MAX_LEN: usize = 1 << 20;

/// The system allocator with a ceiling on the bytes live at once: past it the allocation fails
/// (the process aborts) after saying which input asked.
struct Capped;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static CURRENT: AtomicUsize = AtomicUsize::new(usize::MAX);

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        if live > MEMORY_CAP {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            report_oversize(layout.size());
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

/// Says, without allocating, which input went over the memory cap.
fn report_oversize(size: usize) {
    let mut line = *b"smoke: input #                     asked for                      bytes\n";
    write_decimal(&mut line[14..34], CURRENT.load(Ordering::Relaxed));
    write_decimal(&mut line[44..64], size);
    let _ = std::io::stderr().write_all(&line);
}

fn write_decimal(slot: &mut [u8], mut v: usize) {
    let mut i = slot.len();
    loop {
        i -= 1;
        slot[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|e| e.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

/// Input `index` of `target`'s run: the corpus files first, then seeded mutants of them.
struct Inputs {
    seeds: Vec<Vec<u8>>,
    rng: Rng,
    index: usize,
}

impl Inputs {
    fn new(seeds: Vec<Vec<u8>>) -> Self {
        Self {
            seeds,
            rng: Rng::new(0x5EED),
            index: 0,
        }
    }

    fn next_input(&mut self) -> Vec<u8> {
        let i = self.index;
        self.index += 1;
        match self.seeds.get(i) {
            Some(s) => s.clone(),
            None if self.seeds.is_empty() => mutate(&[], &mut self.rng, MAX_LEN),
            None => {
                let seed = &self.seeds[self.rng.below(self.seeds.len())];
                mutate(seed, &mut self.rng, MAX_LEN)
            }
        }
    }
}

enum Outcome {
    Ok { execs: usize },
    Failed { index: usize, why: String },
}

fn run_target(f: fn(&[u8]), name: &str, budget: Duration) -> Outcome {
    let mut inputs = Inputs::new(corpus(name));
    let start = Instant::now();
    while start.elapsed() < budget {
        let index = inputs.index;
        let data = inputs.next_input();
        CURRENT.store(index, Ordering::Relaxed);
        let t = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| f(&data))).is_err() {
            return Outcome::Failed {
                index,
                why: "panicked".into(),
            };
        }
        if t.elapsed() > HANG {
            return Outcome::Failed {
                index,
                why: format!("took {:.1} s", t.elapsed().as_secs_f64()),
            };
        }
    }
    Outcome::Ok {
        execs: inputs.index,
    }
}

fn replay(f: fn(&[u8]), name: &str, index: usize) -> std::io::Result<()> {
    let mut inputs = Inputs::new(corpus(name));
    let mut data = inputs.next_input();
    while inputs.index <= index {
        data = inputs.next_input();
    }
    let path = format!("smoke-{name}-{index}");
    std::fs::write(&path, &data)?;
    println!("{path}: {} bytes", data.len());
    f(&data);
    println!("{name} #{index}: no crash");
    Ok(())
}

fn target(name: &str) -> Option<fn(&[u8])> {
    tnet_fuzz::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}

fn usage() -> ! {
    eprintln!("usage: smoke [--seconds S] [TARGET..] | smoke --replay TARGET INDEX");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--replay") {
        let (Some(f), Some(index)) = (
            args.get(1).and_then(|n| target(n)),
            args.get(2).and_then(|i| i.parse().ok()),
        ) else {
            usage()
        };
        if let Err(e) = replay(f, &args[1], index) {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
        return;
    }
    let (seconds, names) = match args.first().map(String::as_str) {
        Some("--seconds") => match args.get(1).and_then(|s| s.parse::<f64>().ok()) {
            Some(s) if s.is_finite() && s > 0.0 => (s, &args[2..]),
            _ => usage(),
        },
        _ => (10.0, &args[..]),
    };
    let chosen: Vec<(&str, fn(&[u8]))> = if names.is_empty() {
        tnet_fuzz::TARGETS.to_vec()
    } else {
        names
            .iter()
            .map(|n| (n.as_str(), target(n).unwrap_or_else(|| usage())))
            .collect()
    };
    let budget = Duration::from_secs_f64(seconds);
    let mut failed = false;
    for (name, f) in chosen {
        // The name first, so that an abort (the memory cap) shows which target it was in.
        print!("{name:>15}: ");
        let _ = std::io::stdout().flush();
        match run_target(f, name, budget) {
            Outcome::Ok { execs } => println!(
                "{execs:>9} inputs, {:>8.0}/s, no crash",
                execs as f64 / seconds
            ),
            Outcome::Failed { index, why } => {
                println!("input #{index} {why} (smoke --replay {name} {index})");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
