//! Hostile config files: what the loader refuses, quickly and in bounded memory, and how it says so.

use quota_exporter::config::Config;

/// Loads `text` as a file (the path the daemon and `--config.check` take).
fn load_file(name: &str, text: &[u8]) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    Config::load(&path).map_err(|e| e.to_string())
}

fn refused(yaml: &str) -> String {
    load_file("c.yml", yaml.as_bytes()).expect_err("config should be refused")
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for n in needles {
        assert!(haystack.contains(n), "{n:?} not in:\n{haystack}");
    }
}

const ACCOUNT: &str =
    "wecom_wedrive:\n  - name: acme\n    corp_id: ww1\n    secret: { env: QE_LIMITS_SECRET }\n";

fn set_secret() {
    std::env::set_var("QE_LIMITS_SECRET", "value");
}

/// The 1.3 KB "billion laughs" file: nine levels of nine aliases, ~390 million strings once
/// expanded. It used to grow the process to gigabytes before failing.
#[test]
fn a_yaml_alias_bomb_is_refused() {
    let mut text = String::from("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let (prev, name) = (w[0], w[1]);
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    assert!(text.len() < 1400, "{}", text.len());
    let e = refused(&text);
    assert_contains(&e, &["aliases expand to more than 100000 values", "(line "]);
}

/// A mapping nested 3,000 deep used to take gigabytes and a deep recursion to parse.
#[test]
fn deep_nesting_is_refused() {
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&" ".repeat(i));
        text.push_str("k:\n");
    }
    assert_contains(&refused(&text), &["nested more than 64 levels deep"]);
    // Flow style too.
    let flow = format!("a: {}1{}\n", "[".repeat(3000), "]".repeat(3000));
    load_file("c.yml", flow.as_bytes()).expect_err("refused");
}

/// A NUL byte used to end the file silently: the vendor section after it vanished and the config
/// was "valid".
#[test]
fn a_nul_byte_is_refused_with_its_position() {
    set_secret();
    let text = format!("defaults:\n  interval: 1h\n\0{ACCOUNT}");
    assert_contains(&refused(&text), &["line 3 column 1: contains a NUL byte"]);
    assert!(Config::from_yaml(&text).is_err(), "text sources too");
}

#[test]
fn a_config_file_over_the_size_limit_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yml");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: no disk used. 1 GiB, of which at most the limit is read.
    file.set_len(1 << 30).unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert_contains(&e, &["big.yml is larger than the 64 MiB limit"]);
}

#[test]
fn non_finite_numbers_name_their_key() {
    set_secret();
    for (value, shown) in [
        (".inf", ".inf"),
        ("-.Inf", "-.Inf"),
        (".nan", ".nan"),
        ("1e400", "1e400"),
    ] {
        let e = refused(&format!("defaults:\n  jitter: {value}\n{ACCOUNT}"));
        assert_contains(
            &e,
            &[
                "defaults.jitter (line 2)",
                &format!("{shown} is not a finite number"),
            ],
        );
    }
    let e = refused(&format!("{ACCOUNT}    retries: .inf\n"));
    assert_contains(&e, &["wecom_wedrive[0].retries (line 5)"]);
}

/// `/dev/zero` as a secret file used to be read until memory ran out.
#[test]
fn an_endless_or_huge_secret_file_is_refused() {
    let e = refused(&ACCOUNT.replace("{ env: QE_LIMITS_SECRET }", "{ file: /dev/zero }"));
    assert_contains(
        &e,
        &[
            "(acme).secret",
            "secret file /dev/zero is larger than the 64 KiB limit",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let nul = dir.path().join("nul");
    std::fs::write(&nul, b"abc\0def").unwrap();
    let e = refused(&ACCOUNT.replace(
        "{ env: QE_LIMITS_SECRET }",
        &format!("{{ file: {} }}", nul.display()),
    ));
    assert_contains(&e, &["(acme).secret", "contains a NUL byte"]);
}

/// A bad key inside a secret reference used to be reported at its parent only.
#[test]
fn a_bad_key_in_a_secret_reference_names_its_full_path() {
    let e = refused(&ACCOUNT.replace(
        "{ env: QE_LIMITS_SECRET }",
        "{ env: QE_LIMITS_SECRET, vault: kv/x }",
    ));
    assert_contains(
        &e,
        &["wecom_wedrive[0] (acme).secret.vault: unknown key in a secret reference"],
    );
    let e = refused(&ACCOUNT.replace("{ env: QE_LIMITS_SECRET }", "{ env: [a] }"));
    assert_contains(&e, &["(acme).secret.env: invalid type: sequence"]);
    let e = refused(&ACCOUNT.replace("{ env: QE_LIMITS_SECRET }", "{ }"));
    assert_contains(&e, &["(acme).secret: expected exactly one of env or file"]);
}

/// Credentials in a base URL used to be accepted, then printed by `--config.check` and the
/// landing page.
#[test]
fn credentials_in_a_base_url_are_refused_and_never_shown() {
    set_secret();
    let cwp = quota_exporter::vendors::VENDORS
        .iter()
        .find(|v| v.name.ends_with("_cwp"))
        .unwrap()
        .name;
    let accounts = [
        (ACCOUNT.to_owned(), "base_url"),
        (
            "koodrive:\n  - name: acme\n    bearer_token: { env: QE_LIMITS_SECRET }\n".to_owned(),
            "base_url",
        ),
        (
            format!("{cwp}:\n  - name: acme\n    secret_id: {{ env: QE_LIMITS_SECRET }}\n    secret_key: {{ env: QE_LIMITS_SECRET }}\n"),
            "endpoint",
        ),
    ];
    for (account, key) in accounts {
        for url in [
            "https://admin:hunter2@example.test",
            "https://hunter2@example.test",
        ] {
            let e = refused(&format!("{account}    {key}: {url}\n"));
            assert_contains(&e, &[&format!("(acme).{key}"), "user name or password"]);
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}

#[test]
fn an_unknown_file_extension_is_named() {
    let e = load_file("c.conf", b"defaults: {}\n").unwrap_err();
    assert_contains(&e, &["c.conf", ".yml, .yaml or .toml"]);
}

/// Values `--config.check` used to accept and start-up or reload then panicked on.
#[test]
fn schedule_values_beyond_their_bounds_are_refused() {
    set_secret();
    let e = refused(&format!(
        // Above the semaphore's maximum (2^61 - 1): start-up used to panic.
        "defaults:\n  max_concurrent_polls: 2305843009213693952\n{ACCOUNT}"
    ));
    assert_contains(&e, &["defaults.max_concurrent_polls: at most 10000"]);
    // `interval * 3` (the default staleness) used to overflow, even when max_staleness was set.
    for extra in ["", "    max_staleness: 400d\n"] {
        let e = refused(&format!("{ACCOUNT}    interval: 100000000000000d\n{extra}"));
        assert_contains(&e, &["(acme).interval: at most 30days"]);
    }
    for (key, value, limit) in [
        ("timeout", "2h", "1h"),
        ("max_staleness", "10years", "1year"),
        ("retry_backoff", "100000000000000d", "1h"),
    ] {
        let e = refused(&format!("{ACCOUNT}    interval: 3h\n    {key}: {value}\n"));
        assert_contains(&e, &[&format!("(acme).{key}: at most {limit}")]);
    }
    let e = refused(&format!("defaults:\n  startup_spread: 100y\n{ACCOUNT}"));
    assert_contains(&e, &["defaults.startup_spread: at most 30days"]);
    // At the bounds, fine.
    let ok = format!(
        "defaults:\n  max_concurrent_polls: 10000\n  startup_spread: 30d\n{ACCOUNT}    interval: 30d\n    timeout: 1h\n    retry_backoff: 1h\n"
    );
    let config = load_file("c.yml", ok.as_bytes()).unwrap();
    assert_eq!(
        config.accounts[0].schedule.max_staleness,
        std::time::Duration::from_secs(90 * 86400)
    );
}

/// `--config.check` refuses what start-up would panic on, with exit code 1, never 101.
#[test]
fn config_check_exits_1_never_101() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        format!("{ACCOUNT}    interval: 100000000000000d\n    max_staleness: 1h\n"),
        format!("defaults:\n  max_concurrent_polls: 2305843009213693952\n{ACCOUNT}"),
        format!("{ACCOUNT}    base_url: http://u:hunter2@127.0.0.1:1\n"),
        format!("defaults:\n  jitter: .nan\n{ACCOUNT}"),
    ];
    for (i, text) in cases.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.yml"));
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_quota-exporter"))
            .args(["--config.file", path.to_str().unwrap(), "--config.check"])
            .env("QE_LIMITS_SECRET", "value")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "case {i}:\n{all}");
        assert!(
            !all.contains("panicked") && !all.contains("hunter2"),
            "case {i}:\n{all}"
        );
    }
}

/// TOML has `inf` and `nan` literals; they used to become null on the way to JSON and so
/// silently took the default (or failed without a key).
#[test]
fn non_finite_toml_numbers_name_their_key() {
    set_secret();
    for value in ["inf", "-inf", "nan", "+nan"] {
        let toml = format!(
            "[defaults]\njitter = {value}\n\n[[wecom_wedrive]]\nname = \"acme\"\ncorp_id = \"ww1\"\nsecret = {{ env = \"QE_LIMITS_SECRET\" }}\n"
        );
        let e = load_file("c.toml", toml.as_bytes()).expect_err("refused");
        assert_contains(&e, &["defaults.jitter: ", "is not a finite number"]);
    }
    let toml = "[[wecom_wedrive]]\nname = \"acme\"\ncorp_id = \"ww1\"\nsecret = { env = \"QE_LIMITS_SECRET\" }\nmax_response_bytes = inf\n";
    let e = load_file("c.toml", toml.as_bytes()).expect_err("refused");
    assert_contains(
        &e,
        &["wecom_wedrive[0].max_response_bytes: inf is not a finite number"],
    );
}

/// An environment override parsed as a float (`inf`, `NaN`) is named with its key and its variable.
#[test]
fn non_finite_environment_overrides_name_their_key_and_variable() {
    set_secret();
    for value in ["inf", "NaN", "-infinity"] {
        std::env::set_var("QUOTA_EXPORTER__DEFAULTS__JITTER", value);
        let e = refused(ACCOUNT);
        assert_contains(
            &e,
            &[
                "defaults.jitter: ",
                "is not a finite number (from the environment variable QUOTA_EXPORTER__DEFAULTS__JITTER)",
            ],
        );
    }
    std::env::remove_var("QUOTA_EXPORTER__DEFAULTS__JITTER");
    std::env::set_var("QUOTA_EXPORTER__DEFAULTS__JITTER", "0.2");
    assert!(
        load_file("c.yml", ACCOUNT.as_bytes()).is_ok(),
        "a finite override loads"
    );
    std::env::remove_var("QUOTA_EXPORTER__DEFAULTS__JITTER");
}
