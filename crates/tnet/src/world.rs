//! Which replicas this process is one of: alone, or one rank of an MPI job (feature `mpi`;
//! docs/distributed.md).

use std::sync::Arc;

use tnet_train::distributed::{Collective, SingleProcess};

/// The number of processes an MPI launcher started, read from its environment (Open MPI's
/// `mpirun`, MPICH / Intel MPI / Slurm's PMI).
pub fn launched_processes() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse().ok())
}

/// The MPI job this process was launched in, or the world of one.
pub fn world() -> anyhow::Result<Arc<dyn Collective>> {
    #[cfg(feature = "mpi")]
    if launched_processes().is_some() {
        return Ok(Arc::new(crate::mpi_world::MpiWorld::init()?));
    }
    #[cfg(not(feature = "mpi"))]
    if let Some(n) = launched_processes().filter(|&n| n > 1) {
        anyhow::bail!(
            "started as one of {n} MPI processes, but this tnet was built without the `mpi` \
             feature, so each process would train alone: build it with `cargo build --release -p \
             tnet --features mpi` (docs/distributed.md)"
        );
    }
    Ok(Arc::new(SingleProcess))
}

/// `cuda` becomes `cuda:<local rank>` in a job of several processes on a host with GPUs, so
/// each process drives its own GPU; any other device is kept.
pub fn device_of_rank(device: &str) -> String {
    let local_rank = [
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "MPI_LOCALRANKID",
        "SLURM_LOCALID",
    ]
    .iter()
    .find_map(|k| std::env::var(k).ok()?.parse::<usize>().ok());
    match (device, local_rank, launched_processes()) {
        ("cuda", Some(r), Some(n)) if n > 1 => format!("cuda:{r}"),
        _ => device.to_string(),
    }
}
