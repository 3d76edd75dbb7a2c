//! Shared by the bench targets: the input shapes, where criterion keeps its results, and a
//! few helpers. Each bench includes this module with `mod common;` and uses what it needs.

pub(crate) mod inputs;
pub(crate) mod streams;

use std::path::PathBuf;

/// Where criterion writes its results (the same rule criterion 0.5 follows, minus the
/// `cargo metadata` call): `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`, or the workspace's
/// `target/criterion`.
pub(crate) fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

/// Where the bench targets leave what criterion does not keep (result checks, CPU times), for
/// the `report` target.
pub(crate) fn side_dir() -> PathBuf {
    let dir = criterion_home().join("sse-benches");
    std::fs::create_dir_all(&dir).expect("create the side-result directory");
    dir
}

/// CPU time used by the whole process so far, in nanoseconds (`clock_gettime` with
/// `CLOCK_PROCESS_CPUTIME_ID`); `None` where the platform cannot tell.
pub(crate) fn process_cpu_ns() -> Option<u64> {
    let now = cpu_time::ProcessTime::try_now().ok()?;
    u64::try_from(now.as_duration().as_nanos()).ok()
}

/// A quick mode for smoke runs: `SSE_BENCH_QUICK=1` shrinks inputs and measurement times.
pub(crate) use inputs::quick;

/// The criterion settings of the bench targets: `samples` samples, 200 ms of warm-up and
/// `measure_ms` of measurement per benchmark (50 and 100 ms in quick mode), no plots.
pub(crate) fn criterion(samples: usize, measure_ms: u64) -> criterion::Criterion {
    let quick = quick();
    criterion::Criterion::default()
        .sample_size(samples)
        .warm_up_time(std::time::Duration::from_millis(if quick {
            50
        } else {
            200
        }))
        .measurement_time(std::time::Duration::from_millis(if quick {
            100
        } else {
            measure_ms
        }))
        .without_plots()
}
