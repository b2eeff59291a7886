//! The real binary: flags, exit codes, signals, reload.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_quota-exporter");

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("QUOTA_EXPORTER_CONFIG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run the binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[path = "common/ports.rs"]
mod ports;
use ports::free_port;

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let r = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .ok()?;
    Some((r.status().as_u16(), r.text().unwrap_or_default()))
}

/// Waits (bounded) until `path` answers 200 and `pred` holds for its body.
fn wait_for(port: u16, path: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Some((200, body)) = get(port, path) {
            if pred(&body) {
                return body;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {path}; last body:\n{last}");
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits (bounded) for the process to exit.
fn wait_exit(child: &mut Child) -> (std::process::ExitStatus, Duration) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("the exporter did not exit");
}

fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// `--version` and `quota_exporter_build_info` carry the commit the binary was built from (when
/// built from a git checkout, as here) and a build date.
#[test]
fn version_shows_the_real_revision_and_build_date() {
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| text(&o.stdout).trim().to_owned());
    let revision = quota_exporter::render::revision();
    match &head {
        Some(head) => assert_eq!(revision, head),
        None => assert_eq!(revision, "unknown"),
    }
    let out = run(&["--version"], &[]);
    let line = text(&out.stdout);
    assert!(
        line.starts_with(&format!(
            "quota-exporter {} (revision {revision}, built ",
            env!("CARGO_PKG_VERSION")
        )),
        "{line}"
    );
    let date = quota_exporter::render::build_date();
    assert!(
        humantime::parse_rfc3339(date).is_ok() && date.ends_with('Z'),
        "build date {date:?}"
    );
    assert!(line.contains(date), "{line}");
    let out = run(&["--once", "--demo"], &[]);
    assert!(
        text(&out.stdout).contains(&format!(
            "quota_exporter_build_info{{version=\"{}\",revision=\"{revision}\",build_date=\"{date}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn version_and_usage_errors() {
    let out = run(&["--version"], &[]);
    assert!(out.status.success() && text(&out.stdout).starts_with("quota-exporter "));
    let out = run(&[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--config.file"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["--web.listen-addres", "x"], &[]);
    assert_eq!(out.status.code(), Some(2), "clap rejects unknown flags");
}

#[test]
fn config_check_summarises_a_valid_file_without_secrets() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.yml");
    let secrets = [
        ("ACME_WEDRIVE_SECRET", "wedrive-secret-value"),
        ("ACME_KOODRIVE_APP_SECRET", "koodrive-secret-value"),
        ("TENCENTCLOUD_SECRET_ID", "AKIDexample"),
        ("TENCENTCLOUD_SECRET_KEY", "tencent-secret-value"),
        ("CONTOSO_M365_CLIENT_SECRET", "m365-secret-value"),
        ("GITHUB_TOKEN", "github-token-value"),
    ];
    let out = run(&["--config.file", example, "--config.check"], &secrets);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("configuration is valid")
            && stdout.contains("wecom_wedrive/acme: every 3h"),
        "{stdout}"
    );
    for (_, secret) in secrets {
        assert!(!stdout.contains(secret));
    }
    // Environment overrides apply.
    let out = run(
        &["--config.file", example, "--config.check"],
        &[
            secrets[0],
            secrets[1],
            secrets[2],
            secrets[3],
            secrets[4],
            secrets[5],
            ("QUOTA_EXPORTER__DEFAULTS__TIMEOUT", "7s"),
        ],
    );
    assert!(
        text(&out.stdout).contains("timeout 7s"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn config_check_lists_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(
        &path,
        "defaults:\n  timeout: 2h\nwecom_wedrive:\n  - name: a\n    corp_id: ww\n    secert: x\n  - name: b\n    corp_id: ww\n    secret: { env: QE_CLI_UNSET_SECRET }\n",
    )
    .unwrap();
    let out = run(
        &["--config.file", path.to_str().unwrap(), "--config.check"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for needle in ["secert", "QE_CLI_UNSET_SECRET", "(b).timeout"] {
        assert!(stderr.contains(needle), "missing {needle}:\n{stderr}");
    }
}

#[test]
fn config_check_reports_this_shards_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    let accounts: String = (0..12)
        .map(|i| format!("  - name: a{i}\n    corp_id: ww\n    secret: {{ env: QE_CLI_SET }}\n"))
        .collect();
    std::fs::write(&path, format!("wecom_wedrive:\n{accounts}")).unwrap();
    let mut owned = 0;
    for index in 0..3 {
        let shard = format!("{index}/3");
        let out = run(
            &[
                "--config.file",
                path.to_str().unwrap(),
                "--config.check",
                "--shard",
                &shard,
            ],
            &[("QE_CLI_SET", "x")],
        );
        let stdout = text(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(&format!("shard {shard} owns")),
            "{stdout}"
        );
        owned += stdout
            .lines()
            .filter(|l| l.starts_with("  wecom_wedrive/"))
            .count();
    }
    assert_eq!(owned, 12);
}

#[test]
fn once_prints_the_demo_exposition() {
    let out = run(&["--once", "--demo"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("quota_exporter_up{vendor=\"wecom_wedrive\",account=\"acme\"} 1"),
        "{stdout}"
    );
    assert!(stdout.contains("wecom_wedrive_capacity_free_bytes{account=\"acme\",pool=\"all\"}"));
}

#[test]
fn once_exits_non_zero_when_a_poll_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    let port = free_port(); // nothing listens there
    std::fs::write(
        &path,
        format!("defaults:\n  retries: 0\nwecom_wedrive:\n  - name: down\n    corp_id: ww\n    secret: s\n    base_url: http://127.0.0.1:{port}\n"),
    )
    .unwrap();
    let out = run(&["--once", "--config.file", path.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("quota_exporter_poll_failures_total{vendor=\"wecom_wedrive\",account=\"down\",reason=\"transport\"} 1"));
    assert!(text(&out.stderr).contains("down"));
}

#[test]
fn sigterm_stops_the_demo_cleanly() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = spawn(&["--demo", "--web.listen-address", &addr], &[]);
    wait_for(port, "/-/ready", |_| true);
    wait_for(port, "/metrics", |m| {
        m.contains("wecom_wedrive_vip_seats_limit{account=\"acme\"} 10")
    });
    signal(&child, "TERM");
    let (status, took) = wait_exit(&mut child);
    assert!(status.success(), "exit status {status:?}");
    eprintln!("exited {took:?} after SIGTERM");
}

#[test]
fn reload_by_signal_and_http_applies_good_configs_and_rejects_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    // Accounts that point at a closed port: reload is about which accounts exist.
    let closed = free_port();
    let account = |n: &str| {
        format!("  - name: {n}\n    corp_id: ww\n    secret: s\n    base_url: http://127.0.0.1:{closed}\n")
    };
    let write = |body: &str| {
        std::fs::write(
            &path,
            format!("defaults:\n  retries: 0\n  startup_spread: 0s\nwecom_wedrive:\n{body}"),
        )
        .unwrap()
    };
    write(&account("one"));
    let port = free_port();
    let mut child = spawn(
        &[
            "--config.file",
            path.to_str().unwrap(),
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
            "--web.enable-lifecycle",
        ],
        &[],
    );
    wait_for(port, "/metrics", |m| m.contains("account=\"one\""));

    write(&format!("{}{}", account("two"), account("three")));
    signal(&child, "HUP");
    let m = wait_for(port, "/metrics", |m| m.contains("account=\"three\""));
    assert!(
        !m.contains("account=\"one\""),
        "a removed account disappears at once"
    );
    assert!(m.contains("quota_exporter_config_last_reload_successful 1"));

    std::fs::write(&path, "wecom_wedrive:\n  - name: bad\n    typo: 1\n").unwrap();
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(format!("http://127.0.0.1:{port}/-/reload"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    assert!(r.text().unwrap().contains("typo"));
    let m = wait_for(port, "/metrics", |m| {
        m.contains("quota_exporter_config_last_reload_successful 0")
    });
    assert!(
        m.contains("account=\"two\"") && m.contains("account=\"three\""),
        "the old config keeps running"
    );

    signal(&child, "TERM");
    let (status, _) = wait_exit(&mut child);
    assert!(status.success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("configuration rejected"), "{stderr}");
    assert!(Path::new(&path).exists());
}

#[test]
fn a_bad_web_config_stops_start_up_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, "basic_auth_users:\n  prometheus: not-a-hash\n").unwrap();
    let port = free_port().to_string();
    let out = run(
        &[
            "--demo",
            "--web.config.file",
            web.to_str().unwrap(),
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("basic_auth_users.prometheus") && stderr.contains("bcrypt"),
        "{stderr}"
    );
}
