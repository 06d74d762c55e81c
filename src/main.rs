//! The `sagemaker-rollout` command line (see [`cli`]).
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
