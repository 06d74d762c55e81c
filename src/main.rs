//! The `sagemaker-rollout` command line (see [`cli`]).
#![forbid(unsafe_code)]

mod cli;

// glibc keeps the pages of a decoded list after it is dropped; mimalloc returns them, which is
// most of the steady memory of a controller watching 10,000 resources (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
