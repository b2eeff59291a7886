//! The binary's HTTP flags: `--web.telemetry-path` checks, repeated `--web.listen-address`,
//! `--web.systemd-socket`, the open-files limit, and the log lines (logfmt keys, refused client
//! certificates at warn level).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_quota-exporter");

#[path = "common/ports.rs"]
mod ports;
use ports::free_port;

fn healthy(port: u16) -> bool {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/-/healthy"))
        .send()
        .is_ok_and(|r| r.status() == 200)
}

fn wait_healthy(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if healthy(port) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("exited {status}: {err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the exporter did not answer on {port}");
}

/// SIGTERM, wait (bounded), and the process's stderr.
fn stop(mut child: Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}

#[test]
fn a_bad_telemetry_path_is_a_usage_error() {
    for path in ["metrics", "/", "/-/healthy", "/metrics/", "/a b"] {
        let out = Command::new(BIN)
            .args(["--demo", "--web.telemetry-path", path])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
        assert!(stderr.contains("--web.telemetry-path"), "{path}: {stderr}");
    }
    let out = Command::new(BIN)
        .args(["--demo", "--web.external-url", "ftp://x/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn listen_address_is_repeatable() {
    let (a, b) = (free_port(), free_port());
    let mut child = Command::new(BIN)
        .args(["--demo", "--web.listen-address"])
        .arg(format!("127.0.0.1:{a}"))
        .arg("--web.listen-address")
        .arg(format!("127.0.0.1:{b}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(a, &mut child);
    assert!(healthy(b), "the second address serves too");
    stop(child);
}

#[cfg(target_os = "linux")]
#[test]
fn systemd_socket_activation_serves_the_passed_socket() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let fd = socket.as_raw_fd();
    let mut cmd = Command::new("sh");
    // LISTEN_PID must name the exporter's own pid: `exec` keeps the shell's.
    cmd.arg("-c")
        .arg(format!(
            "LISTEN_PID=$$ LISTEN_FDS=1 exec '{BIN}' --demo --web.systemd-socket"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: dup2 and fcntl are async-signal-safe: the socket goes to fd 3, kept across exec
    // (dup2 onto itself would keep close-on-exec, hence the fcntl).
    unsafe {
        cmd.pre_exec(move || {
            if fd != 3 && libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(socket); // the exporter holds its own copy
    wait_healthy(port, &mut child);
    stop(child);

    let out = Command::new(BIN)
        .args(["--demo", "--web.systemd-socket"])
        .env_remove("LISTEN_PID")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LISTEN_FDS"));

    // Descriptor 3 is not a socket: refused, and nothing else is disturbed (no crash).
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec '{BIN}' --demo --web.systemd-socket"
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("descriptor 3 is not a socket"), "{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn the_soft_open_files_limit_is_raised_to_the_hard_limit() {
    use std::os::unix::process::CommandExt;
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.args(["--demo", "--web.listen-address"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: getrlimit/setrlimit are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
            l.rlim_cur = l.rlim_max.min(256);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    wait_healthy(port, &mut child);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_owned();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    stop(child);
    assert_eq!(numbers[0], numbers[1], "soft = hard: {line}");
    assert_ne!(numbers[0], "256", "{line}");
}

#[test]
fn logs_use_prometheus_keys_and_a_refused_client_certificate_is_a_warning() {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    // A self-signed client certificate: it is its own CA, and not ours.
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["lonely".to_owned()]).unwrap();
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = client_params.self_signed(&client_key).unwrap();

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.crt"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .args(["--demo", "--log.level", "info", "--web.config.file"])
        .arg(&web)
        .arg("--web.listen-address")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let tls_client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .identity(
            reqwest::Identity::from_pem(
                format!("{}{}", client.pem(), client_key.serialize_pem()).as_bytes(),
            )
            .unwrap(),
        )
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("https://localhost:{port}/-/healthy");
    let deadline = Instant::now() + Duration::from_secs(20);
    // Until the port is open: connection refused, then a handshake failure.
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the exporter did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(tls_client.get(&url).send().is_err(), "refused");
    let stderr = stop(child);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("time=")
            && first.contains(" level=INFO source=")
            && first.contains(" msg="),
        "{stderr}"
    );
    let refused = stderr
        .lines()
        .find(|l| l.contains("client certificate refused"))
        .unwrap_or_else(|| panic!("no line about the client certificate:\n{stderr}"));
    assert!(refused.contains("level=WARN"), "{refused}");
}
