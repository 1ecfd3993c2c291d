//! The `fairaudit` binary: parse, run, map the outcome to an exit code (0 pass, 1 fail, 2 error).

use std::process::ExitCode;

use clap::Parser;
use fairaudit::cli::{self, Cli, Outcome};

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli::run(cli) {
        Ok(Outcome::Pass) => ExitCode::from(0),
        Ok(Outcome::Fail) => ExitCode::from(1),
        Err(fairaudit::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            ExitCode::from(0)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Ask glibc's allocator to keep freed memory for reuse (issue 8). By default it serves
/// blocks above 128 kB (a batch's columns) with fresh mappings and returns freed memory
/// soon, so every batch of a large audit paid page faults again for its buffers: a third of
/// the CPU samples of a 10-million-row audit were in the kernel. Memory then stays at the
/// run's peak (under 100 MB at 10 and 100 million rows; BENCHMARKS.md) instead of shrinking
/// between batches.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it runs before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
