use super::*;

#[test]
fn any_expires_in_gives_a_bounded_lifetime() {
    for (v, want) in [
        (Some(1e30), DEFAULT_TOKEN_LIFETIME),
        (Some(1e19), DEFAULT_TOKEN_LIFETIME),
        (Some(f64::INFINITY), DEFAULT_TOKEN_LIFETIME),
        (Some(f64::NAN), DEFAULT_TOKEN_LIFETIME),
        (Some(-5.0), DEFAULT_TOKEN_LIFETIME),
        (None, DEFAULT_TOKEN_LIFETIME),
        (Some(2.0), Duration::from_secs(2)),
    ] {
        assert_eq!(token_lifetime(v), want, "{v:?}");
    }
}

#[test]
fn every_documented_errcode_has_a_reason() {
    use FailureReason::*;
    let cases: &[(i64, FailureReason, bool)] = &[
        (-1, Api, true),
        (40001, Auth, false),
        (40013, Auth, false),
        (40091, Auth, false),
        (40014, Auth, false),
        (42001, Auth, false),
        (41001, Api, false),
        (45009, RateLimited, false),
        (45033, RateLimited, false),
        (48001, Permission, false),
        (48002, Permission, false),
        (48004, Permission, false),
        (48006, Permission, false),
        (60011, Permission, false),
        (301002, Permission, false),
        (60020, Permission, false),
        (640017, Permission, false),
        (640019, RateLimited, false),
        (640035, RateLimited, false),
        (99999, Api, false),
    ];
    for &(code, reason, retried) in cases {
        let e = classify("mng_capacity", code, "some message");
        assert_eq!(e.reason, reason, "errcode {code}");
        assert_eq!(e.retry == Retry::Backoff, retried, "errcode {code}");
        assert!(
            e.message.contains(&code.to_string()) && e.message.starts_with("mng_capacity"),
            "{}",
            e.message
        );
    }
    assert!(
        matches!(classify("x", 640019, "").retry, Retry::HoldOff(d) if d >= Duration::from_secs(3600))
    );
    assert!(classify("x", 60020, "").message.contains("trusted-IP"));
}
