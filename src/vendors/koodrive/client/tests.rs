use reqwest::StatusCode;

use super::*;

fn status(code: &str, msg: &str) -> Status {
    Status {
        code: Some(code.to_owned()),
        msg: Some(msg.to_owned()),
        ..Default::default()
    }
}

/// The API gateway's envelope.
fn apigw(code: &str, msg: &str) -> Status {
    Status {
        error_code: Some(code.to_owned()),
        error_msg: Some(msg.to_owned()),
        request_id: Some("3a0e7c2bd4a54d6c9c3b1f3e6f8e2a10".to_owned()),
        ..Default::default()
    }
}

#[test]
fn http_statuses_and_codes_map_to_reasons() {
    let secret = SecretString::from("app-secret-value");
    let app = Auth::App {
        app_id: "a",
        app_secret: secret,
    };
    let none = Default::default();
    let s = |code: u16, env: Option<&Status>| {
        classify_status(
            "service",
            StatusCode::from_u16(code).unwrap(),
            &none,
            env,
            &app,
        )
    };
    use FailureReason::{Api, HttpStatus, Permission, RateLimited};
    // A business error answered with HTTP 400 is not an authentication failure.
    let e = s(400, Some(&status("13000102", "Verify parameters failed")));
    assert_eq!((e.reason, e.retry), (Api, Retry::Never), "{}", e.message);
    assert!(e.message.contains("13000102"), "{}", e.message);
    assert_eq!(s(400, None).reason, HttpStatus);
    // The gateway's authentication codes are, in either envelope and at 400 or 401.
    for code in ["APIGW.0301", "APIGW.0303", "APIG.0305", "APIGW.0307"] {
        for http in [400, 401] {
            let e = s(
                http,
                Some(&apigw(code, "Incorrect app authentication information")),
            );
            assert_eq!(e.reason, FailureReason::Auth, "{code} {http}");
            assert!(
                e.message.contains(code)
                    && e.message
                        .contains("request_id 3a0e7c2bd4a54d6c9c3b1f3e6f8e2a10"),
                "{}",
                e.message
            );
        }
        assert_eq!(s(401, Some(&status(code, "x"))).reason, FailureReason::Auth);
    }
    for code in ["APIGW.0302", "APIGW.0304", "APIGW.0306"] {
        assert_eq!(
            s(403, Some(&apigw(code, "not authorized"))).reason,
            Permission
        );
    }
    let e = s(
        429,
        Some(&apigw(
            "APIGW.0308",
            "The throttling threshold has been reached",
        )),
    );
    assert_eq!(e.reason, RateLimited);
    assert!(e.message.contains("request_id 3a0e"), "{}", e.message);
    assert_eq!(s(401, None).reason, FailureReason::Auth);
    assert_eq!(s(403, None).reason, Permission);
    assert_eq!(
        (s(429, None).reason, s(429, None).retry),
        (RateLimited, Retry::Backoff)
    );
    let throttled = s(
        403,
        Some(&status(
            "APIGW.0308",
            "The throttling threshold has been reached",
        )),
    );
    assert_eq!(throttled.reason, RateLimited);
    assert_eq!(
        (s(503, None).reason, s(503, None).retry),
        (HttpStatus, Retry::Backoff)
    );
    assert_eq!(
        (s(404, None).reason, s(404, None).retry),
        (HttpStatus, Retry::Never)
    );

    let mut h = reqwest::header::HeaderMap::new();
    h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
    let e = classify_status("service", StatusCode::TOO_MANY_REQUESTS, &h, None, &app);
    assert_eq!(e.retry, Retry::After(std::time::Duration::from_secs(3)));

    let e = classify_code("quotaUsed", &status("31001", "tenant not found"), &none);
    assert_eq!((e.reason, e.retry), (Api, Retry::Never));
    assert!(
        e.message.contains("31001") && e.message.contains("tenant not found"),
        "{}",
        e.message
    );
    assert_eq!(
        classify_code("quotaUsed", &status("APIGW.0308", "throttled"), &h).retry,
        Retry::After(std::time::Duration::from_secs(3))
    );
}

#[test]
fn auth_failures_say_what_to_check() {
    let secret = SecretString::from("app-secret-value");
    let app = Auth::App {
        app_id: "a",
        app_secret: secret,
    };
    let none = Default::default();
    let e = classify_status(
        "quotaUsed",
        StatusCode::UNAUTHORIZED,
        &none,
        Some(&status("APIGW.0303", "X-Date expired")),
        &app,
    );
    assert!(
        e.message.contains("X-Date rejected") && e.message.contains("clock"),
        "{}",
        e.message
    );
    let e = classify_status(
        "quotaUsed",
        StatusCode::UNAUTHORIZED,
        &none,
        Some(&status("APIGW.0303", "verify signature failed")),
        &app,
    );
    assert!(
        e.message.contains("app_secret") && e.message.contains("clock"),
        "{}",
        e.message
    );
    let bearer = Auth::Bearer(SecretString::from("tok"));
    let e = classify_status("quotaUsed", StatusCode::UNAUTHORIZED, &none, None, &bearer);
    assert!(e.message.contains("bearer token rejected"), "{}", e.message);
}

#[test]
fn a_bearer_prefix_in_the_token_file_is_dropped() {
    for (raw, token) in [
        ("tok-1", "tok-1"),
        ("Bearer tok-1", "tok-1"),
        ("bearer   tok-1\n", "tok-1"),
        ("Bearerish", "Bearerish"),
    ] {
        let t = read_bearer(&SecretRef::Inline(raw.into())).unwrap();
        assert_eq!(t.expose_secret(), token, "{raw:?}");
    }
    assert!(read_bearer(&SecretRef::Inline("Bearer  ".into())).is_err());
}

#[test]
fn secrets_are_declared_whatever_their_length() {
    let c = Client::new(
        "http://127.0.0.1:8080",
        None,
        Credentials::Bearer(SecretRef::Inline("tok-123456".into())),
    )
    .unwrap();
    assert_eq!(
        crate::redact::scrub("auth failed for Bearer tok-123456", &c.secrets()),
        "auth failed for Bearer <redacted>"
    );
    let c = Client::new(
        "http://127.0.0.1:8080",
        None,
        Credentials::App {
            app_id: "id".into(),
            app_secret: SecretRef::Inline("a".into()),
        },
    )
    .unwrap();
    assert_eq!(crate::redact::scrub("a b", &c.secrets()), "<redacted> b");
}

#[test]
fn base_url_gives_host_and_prefix() {
    let c = Client::new(
        "http://127.0.0.1:8080/proxy/",
        None,
        Credentials::Bearer(SecretRef::Inline("t".into())),
    )
    .unwrap();
    assert_eq!(
        (c.host.as_str(), c.path_prefix.as_str(), c.base_url()),
        ("127.0.0.1:8080", "/proxy", "http://127.0.0.1:8080/proxy")
    );
    let c = Client::new(
        "https://cn.myhuaweicloud-koodrive.com",
        None,
        Credentials::Bearer(SecretRef::Inline("t".into())),
    )
    .unwrap();
    assert_eq!(
        (c.host.as_str(), c.path_prefix.as_str()),
        ("cn.myhuaweicloud-koodrive.com", "")
    );
    assert!(Client::new(
        "ftp://x",
        None,
        Credentials::Bearer(SecretRef::Inline("t".into()))
    )
    .is_err());
}
