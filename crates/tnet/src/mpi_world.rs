//! The MPI job as the trainer's [`Collective`] (feature `mpi`): `mpirun -np N tnet train ...`
//! makes each process one replica. Open MPI (or any MPI) starts the processes and sums the
//! buffers; a watchdog ends a process whose collective waits longer than the timeout (a peer
//! died or hangs), so a job never hangs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};
use tnet_train::distributed::{Collective, CollectiveError};

/// Seconds a collective may wait for the other processes (`TNET_COLLECTIVE_TIMEOUT`).
const DEFAULT_TIMEOUT_S: u64 = 600;

pub struct MpiWorld {
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    /// One collective at a time (the trainer calls them from one thread; this makes it a rule).
    busy: Mutex<()>,
    watchdog: Arc<Watchdog>,
    // Dropped last: finalizes MPI.
    _universe: Universe,
}

// The communicator is a handle to MPI's process-wide state; every call goes through `busy`,
// and MPI was initialized for serialized calls from any thread.
unsafe impl Send for MpiWorld {}
unsafe impl Sync for MpiWorld {}

impl std::fmt::Debug for MpiWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MpiWorld(rank {} of {})", self.rank, self.size)
    }
}

impl MpiWorld {
    /// Initializes MPI (serialized threading) and starts the watchdog.
    pub fn init() -> anyhow::Result<Self> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Serialized)
            .ok_or_else(|| anyhow::anyhow!("MPI was already initialized in this process"))?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let timeout = std::env::var("TNET_COLLECTIVE_TIMEOUT")
            .ok()
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    anyhow::anyhow!("TNET_COLLECTIVE_TIMEOUT={v:?}: expected whole seconds")
                })
            })
            .transpose()?
            .unwrap_or(DEFAULT_TIMEOUT_S);
        let watchdog = Watchdog::start(rank, Duration::from_secs(timeout.max(1)));
        Ok(MpiWorld {
            world,
            rank,
            size,
            busy: Mutex::new(()),
            watchdog,
            _universe: universe,
        })
    }

    fn reduce<T>(&self, op: &'static str, values: &mut [T]) -> Result<(), CollectiveError>
    where
        T: Copy + mpi::datatype::Equivalence,
    {
        if values.len() > i32::MAX as usize {
            return Err(CollectiveError {
                op,
                reason: format!("{} values are more than MPI's count allows", values.len()),
            });
        }
        let _one_at_a_time = self.busy.lock().map_err(|_| CollectiveError {
            op,
            reason: "an earlier collective panicked".into(),
        })?;
        let send = values.to_vec();
        self.watchdog.enter(op);
        self.world
            .all_reduce_into(&send[..], values, SystemOperation::sum());
        self.watchdog.leave();
        Ok(())
    }
}

impl Collective for MpiWorld {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<(), CollectiveError> {
        self.reduce("all-reduce (f32)", values)
    }
    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<(), CollectiveError> {
        self.reduce("all-reduce (f64)", values)
    }
}

/// Ends the process when a collective waits too long: MPI itself waits forever for a peer
/// that hangs, and the launcher then ends the other processes.
struct Watchdog {
    waiting: Mutex<Option<(Instant, &'static str)>>,
}

impl Watchdog {
    fn start(rank: usize, timeout: Duration) -> Arc<Self> {
        let dog = Arc::new(Watchdog {
            waiting: Mutex::new(None),
        });
        let watched = dog.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let stuck = watched
                    .waiting
                    .lock()
                    .ok()
                    .and_then(|w| *w)
                    .filter(|(since, _)| since.elapsed() > timeout);
                if let Some((_, op)) = stuck {
                    eprintln!(
                        "error: rank {rank}: {op} waited more than {} s for the other processes \
                         (one stopped or hangs); ending this one (TNET_COLLECTIVE_TIMEOUT sets the limit)",
                        timeout.as_secs()
                    );
                    std::process::exit(1);
                }
            }
        });
        dog
    }

    fn enter(&self, op: &'static str) {
        if let Ok(mut w) = self.waiting.lock() {
            *w = Some((Instant::now(), op));
        }
    }

    fn leave(&self) {
        if let Ok(mut w) = self.waiting.lock() {
            *w = None;
        }
    }
}
