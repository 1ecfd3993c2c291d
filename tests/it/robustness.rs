//! Robustness of the process (issue 9): closed pipes and interrupted runs.

use std::io::Read;
use std::process::{Command, Stdio};

/// The binary under test, as a plain `std` command (for spawning and signalling).
fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fairaudit"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Spawn `args` with stdout a pipe, read at most one byte, close the pipe, and return the exit
/// code and stderr.
fn with_closed_stdout(args: &[&str]) -> (i32, String) {
    let mut child = binary()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    let _ = stdout.read(&mut byte);
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().expect("exited, not killed by SIGPIPE"),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_exits_quietly() {
    // Small outputs (they may fit the pipe buffer, then no error happens at all) and a large
    // JSON report (far more than the buffer: the write fails with EPIPE for sure).
    for args in [
        &["metrics"][..],
        &["metrics", "--json"],
        &["completions", "bash"],
        &["explain", "tpr"],
    ] {
        let (code, stderr) = with_closed_stdout(args);
        assert_eq!((code, stderr.as_str()), (0, ""), "{args:?}");
    }
    // The demo audit fails its gate: a closed pipe does not turn that into a pass.
    let (code, stderr) = with_closed_stdout(&["run", "audits/demo.toml", "--quiet", "--json", "-"]);
    assert_eq!((code, stderr.as_str()), (1, ""));
}

/// A CSV large enough that a debug build reads it for a few seconds.
/// SIGINT and SIGTERM in the middle of a run leave the previous report intact and no temporary
/// file behind.
///
/// Every output is rendered in memory after the whole input is read, then written to a hidden
/// temporary file beside its target and renamed over it; so until the last moment there is no
/// temporary file at all, and a signal during reading or computing (nearly all of a run) can
/// only leave the previous report as it was. Only a signal inside the final write-and-rename
/// window could leave a `.NAME.tmp-PID` file, never a damaged report.
#[cfg(unix)]
#[test]
fn an_interrupted_run_leaves_the_previous_report_intact() {
    use std::io::Write;
    let out = tempfile::tempdir().unwrap();
    for signal in ["INT", "TERM"] {
        let report = out.path().join("r.json");
        std::fs::write(&report, "previous").unwrap();
        // The rows come from a pipe that stays open: the run is still reading, whatever the
        // machine's speed, when the signal arrives (no race with a fixed sleep).
        let mut command = binary();
        // A shell starting the tests in the background ignores SIGINT, and children inherit
        // that: give the run the default dispositions an interactive user's process has.
        // SAFETY: `signal` is async-signal-safe, as `pre_exec` requires.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = command
            .args(["run", "--data", "-"])
            .args(["--label", "label", "--score", "score", "--protected", "g"])
            .args(["--quiet", "--json"])
            .arg(&report)
            .arg("--markdown")
            .arg(out.path().join("r.md"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "label,score,g").unwrap();
        for i in 0..100_000 {
            writeln!(stdin, "{},0.{},{}", i % 2, i % 97, ["a", "b", "c"][i % 3]).unwrap();
        }
        stdin.flush().unwrap();
        let killed = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        // Should the signal not end the run, end its input after 10 s rather than hang.
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(stdin);
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none(),
            "SIG{signal}: the run ended on its own: {status}"
        );
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "previous");
        let names: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["r.json"], "SIG{signal}");
    }
}
