//! The `sagemaker-rollout` command line (see [`cli`]).
#![forbid(unsafe_code)]

mod cli;

// glibc keeps the pages of a decoded list after it is dropped; mimalloc returns them, which is
// most of the steady memory of a controller watching 10,000 resources (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's settings that keep memory low, read from the environment when the allocator
/// starts: no eager commit of arenas, freed pages handed back at once (docs/benchmarks.md).
const ALLOCATOR_SETTINGS: [(&str, &str); 2] = [
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("MIMALLOC_PURGE_DELAY", "0"),
];

/// Starts this binary again with [`ALLOCATOR_SETTINGS`] when the environment does not set
/// them, so every front end (the CLI's `validate`, not only the image) runs with them. By
/// hand because the allocator reads them before `main`, and setting them with `mi_option_set`
/// would need `unsafe`. An explicit setting (even another value) is kept; if the binary
/// cannot be started again, it runs as it is.
#[cfg(unix)]
fn with_allocator_settings() {
    use std::os::unix::process::CommandExt;
    if ALLOCATOR_SETTINGS
        .iter()
        .all(|(k, _)| std::env::var_os(k).is_some())
    {
        return;
    }
    let Ok(me) = std::env::current_exe() else {
        return;
    };
    let mut again = std::process::Command::new(me);
    let mut args = std::env::args_os();
    if let Some(name) = args.next() {
        again.arg0(name);
    }
    again.args(args);
    for (k, v) in ALLOCATOR_SETTINGS {
        if std::env::var_os(k).is_none() {
            again.env(k, v);
        }
    }
    // Returns only if the exec failed.
    let _ = again.exec();
}

fn main() -> std::process::ExitCode {
    #[cfg(unix)]
    with_allocator_settings();
    cli::main()
}
