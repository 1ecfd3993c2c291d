//! Spark Connect (feature `spark`, issue 8): a Sail server on loopback, in local-cluster mode
//! (a driver and several workers exchanging tasks over RPC), runs the partials query; the
//! report must equal the embedded one (counts exactly, floats to 1e-9).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::partials::{differences, python};
use crate::util::{fairaudit, shared_dir};

/// Workers of the local cluster.
const WORKERS: &str = "3";

/// A Sail Spark Connect server, stopped (its own process, by id) when dropped.
struct Sail {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Sail {
    fn start(dir: &Path) -> Sail {
        let sail = python().with_file_name("sail");
        assert!(
            sail.exists(),
            "{} is missing (scripts/pyenv installs pysail)",
            sail.display()
        );
        // A free port: bound, read, released.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("sail.log");
        let child = Command::new(&sail)
            .args([
                "spark",
                "server",
                "--ip",
                "127.0.0.1",
                "--port",
                &port.to_string(),
            ])
            .env("SAIL_MODE", "local-cluster")
            .env("SAIL_CLUSTER__WORKER_INITIAL_COUNT", WORKERS)
            .env("SAIL_CLUSTER__WORKER_MAX_COUNT", WORKERS)
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("sail.err")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let mut server = Sail {
            child,
            url: format!("sc://127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("sail exited with {status}: {}", server.logs());
            }
            assert!(
                Instant::now() < deadline,
                "sail did not listen: {}",
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn logs(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        read(&self.log) + &read(&self.log.with_file_name("sail.err"))
    }
}

impl Drop for Sail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `fairaudit run ARGS… --json OUT --quiet` → (report, exit code).
fn run(args: &[String], out: &Path) -> (serde_json::Value, i32) {
    let o = fairaudit()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(args)
        .args(["--quiet", "--json"])
        .arg(out)
        .output()
        .unwrap();
    let code = o.status.code().unwrap();
    assert!(code < 2, "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    (
        serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap(),
        code,
    )
}

#[test]
fn spark_connect_gives_the_embedded_report() {
    let dir = tempfile::tempdir().unwrap();
    let server = Sail::start(dir.path());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let compas = shared_dir().join("data");
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let cases: Vec<(Vec<String>, String)> = vec![
        // COMPAS as Parquet and as CSV (read by the server).
        (
            s(&["audits/compas.toml"]),
            compas.join("compas.parquet").display().to_string(),
        ),
        (
            s(&["audits/compas.toml"]),
            compas.join("compas.csv").display().to_string(),
        ),
        // Weights and missing protected values; four-decimal scores.
        (
            s(&["audits/lending.toml"]),
            root.join("fixtures/lending.parquet").display().to_string(),
        ),
        (
            s(&["audits/demo.toml"]),
            root.join("fixtures/demo.csv").display().to_string(),
        ),
    ];
    for (i, (spec, data)) in cases.iter().enumerate() {
        let mut embedded = spec.clone();
        embedded.extend(["--data".into(), data.clone()]);
        let (a, code_a) = run(&embedded, &dir.path().join(format!("a{i}.json")));
        let mut remote = embedded.clone();
        remote.extend(["--engine".into(), server.url.clone()]);
        let (b, code_b) = run(&remote, &dir.path().join(format!("b{i}.json")));
        assert_eq!(code_a, code_b, "{data}");
        let d = differences(&a, &b);
        assert!(
            d.is_empty(),
            "{data} through Spark Connect: {d:#?}\n{}",
            server.logs()
        );
        assert_eq!(b["input"]["rows"], a["input"]["rows"]);
    }
    // --table: a view of the server's catalog, made by another session.
    let session = spark_connect::SparkSession::builder()
        .remote(&server.url)
        .get_or_create()
        .unwrap();
    session
        .read()
        .parquet(&root.join("fixtures/lending.parquet").display().to_string())
        .create_or_replace_global_temp_view("lending")
        .unwrap();
    let (a, _) = run(&s(&["audits/lending.toml"]), &dir.path().join("t_a.json"));
    let (b, _) = run(
        &s(&[
            "audits/lending.toml",
            "--engine",
            &server.url,
            "--table",
            "global_temp.lending",
        ]),
        &dir.path().join("t_b.json"),
    );
    let d = differences(&a, &b);
    assert!(d.is_empty(), "--table: {d:#?}");
    // Local-cluster mode: the driver started its workers.
    let logs = server.logs();
    for w in 1..=WORKERS.parse::<u32>().unwrap() {
        assert!(logs.contains(&format!("starting worker {w}")), "{logs}");
    }
    drop(server);
}
