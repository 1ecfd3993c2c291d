//! The HTML report in a real browser: headless Chromium, network disabled.
//!
//! How: the report has no script, so the test writes a copy with a small probe injected
//! (an error listener at the top of `<head>`, a `load` handler at the end of `<body>`). On
//! `load` the probe writes into a `<pre id="fairaudit-probe">` the size of every
//! `svg.chart`, every resource the page requested (Resource Timing lists failed requests too),
//! every `error` event and `console.error` call, and every element that points outside the
//! page (`src`, or `href` not starting with `#`). `chromium --dump-dom` prints the DOM after
//! load, and the test reads the probe back. Network is off: every host resolves to nothing and
//! the proxy is a closed port, so a fetch could only fail, and the probe would see it. Any
//! `CONSOLE` line in Chromium's log fails the test as well. A second run screenshots the
//! unmodified report to `target/artifacts/report.png` (and prints it to
//! `target/artifacts/report.pdf`, the print path) as CI artefacts.
//!
//! Chromium must be installed (`scripts/test` installs the Debian package `chromium`); when it
//! is missing the test fails with a message, it never passes silently. `$CHROMIUM` overrides
//! the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fairaudit::report::html::Html;
use fairaudit::report::Renderer;

use crate::sample::sample_report;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium is not installed at {}: the browser test of the HTML report cannot run. \
         Install it (scripts/test does: apt-get install -y chromium) or set CHROMIUM.",
        path.display()
    );
    path
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("target"));
    let dir = target.join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run headless Chromium on `page` with the network disabled; returns (stdout, stderr).
fn run_chromium(page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--proxy-server=http://127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--window-size=1280,4000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Chromium starts");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("Chromium did not finish within 120 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "Chromium failed ({status}):\n{err}");
    (out, err)
}

const HEAD_PROBE: &str = "<script>window.__faErrors=[];\
window.addEventListener('error',function(e){window.__faErrors.push('error: '+(e.message||\
(e.target&&(e.target.src||e.target.href))||'?'))},true);\
var __faCe=console.error;console.error=function(){window.__faErrors.push('console.error: '+\
Array.prototype.join.call(arguments,' '));__faCe.apply(console,arguments)};</script>";

const BODY_PROBE: &str = "<script>window.addEventListener('load',function(){\
var charts=Array.prototype.map.call(document.querySelectorAll('svg.chart'),function(s){\
var r=s.getBoundingClientRect();return [r.width,r.height]});\
var outside=Array.prototype.filter.call(document.querySelectorAll('*'),function(e){\
return e.tagName!=='SCRIPT'&&(e.hasAttribute('src')||(e.hasAttribute('href')&&\
e.getAttribute('href').charAt(0)!=='#'))}).map(function(e){return e.outerHTML.slice(0,80)});\
var p=document.createElement('pre');p.id='fairaudit-probe';\
p.textContent=JSON.stringify({charts:charts,resources:performance.getEntriesByType('resource')\
.map(function(e){return e.name}),errors:window.__faErrors,outside:outside});\
document.body.appendChild(p)});</script>";

#[derive(serde::Deserialize, Debug)]
struct Probe {
    charts: Vec<[f64; 2]>,
    resources: Vec<String>,
    errors: Vec<String>,
    outside: Vec<String>,
}

fn probe(html: &str, dir: &Path) -> (Probe, String) {
    let injected = html
        .replacen("<head>", &format!("<head>{HEAD_PROBE}"), 1)
        .replacen("</body>", &format!("{BODY_PROBE}</body>"), 1);
    let page = dir.join("probe.html");
    std::fs::write(&page, injected).unwrap();
    let (dom, log) = run_chromium(&page, &["--dump-dom"]);
    let start = dom
        .find("<pre id=\"fairaudit-probe\">")
        .unwrap_or_else(|| panic!("the probe did not run; Chromium log:\n{log}"));
    let json = &dom[start + "<pre id=\"fairaudit-probe\">".len()..];
    let json = &json[..json.find("</pre>").unwrap()];
    let json = json
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    (serde_json::from_str(&json).unwrap(), log)
}

fn check_in_browser(name: &str, html: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (p, log) = probe(html, dir.path());
    let expected = html.matches("<svg class=\"chart\"").count();
    assert!(expected > 0, "{name}: no chart in the report");
    assert_eq!(
        p.charts.len(),
        expected,
        "{name}: charts seen by the browser"
    );
    for (i, [w, h]) in p.charts.iter().enumerate() {
        assert!(*w > 0.0 && *h > 0.0, "{name}: chart {i} has size {w}×{h}");
    }
    assert!(p.resources.is_empty(), "{name}: requests {:?}", p.resources);
    assert!(p.errors.is_empty(), "{name}: errors {:?}", p.errors);
    assert!(
        p.outside.is_empty(),
        "{name}: external references {:?}",
        p.outside
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "{name}: console messages {console:?}");

    // The artefacts: a screenshot and a print of the unmodified report.
    let page = dir.path().join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let out = artifacts();
    let png = out.join(format!("{name}.png"));
    let pdf = out.join(format!("{name}.pdf"));
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&pdf);
    run_chromium(&page, &[&format!("--screenshot={}", png.display())]);
    run_chromium(
        &page,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    let shot = std::fs::read(&png).expect("the screenshot was written");
    assert!(shot.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let print = std::fs::read(&pdf).expect("the PDF was written");
    assert!(print.starts_with(b"%PDF"), "{name}: not a PDF");
}

#[test]
fn html_report_renders_in_a_browser_without_network() {
    let mut html = Vec::new();
    Html::default().render(&sample_report(), &mut html).unwrap();
    check_in_browser("report", &String::from_utf8(html).unwrap());
}

#[test]
fn sample_demo_report_renders_in_a_browser_without_network() {
    let html = std::fs::read_to_string(Path::new(ROOT).join("reports/demo.html"))
        .expect("reports/demo.html exists (scripts/regenerate-reports)");
    check_in_browser("demo", &html);
}

#[test]
fn sample_mitigation_page_renders_in_a_browser_without_network() {
    let html = std::fs::read_to_string(Path::new(ROOT).join("reports/mitigation.html"))
        .expect("reports/mitigation.html exists (scripts/regenerate-reports)");
    check_in_browser("mitigation", &html);
}
