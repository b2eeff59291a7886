use super::*;

fn vector_credentials() -> Credentials {
    Credentials {
        secret_id: SecretString::from("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"),
        secret_key: SecretString::from("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
        session_token: None,
    }
}

/// Tencent's worked example (service cvm), reproduced exactly.
#[test]
fn official_test_vector() {
    let payload = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    let signed = sign(
        &vector_credentials(),
        &Request {
            service: "cvm",
            host: "cvm.tencentcloudapi.com",
            action: "DescribeInstances",
            version: "2017-03-12",
            region: Some("ap-guangzhou"),
            content_type: "application/json; charset=utf-8",
            timestamp: 1551113065,
            payload,
        },
    );
    assert_eq!(
        signed.payload_hash,
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    );
    assert_eq!(
        signed.canonical_request_hash,
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    );
    assert_eq!(
        signed.signature,
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    );
    assert_eq!(
            signed.authorization,
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    let names: Vec<_> = signed.headers().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "X-TC-Action",
            "X-TC-Version",
            "X-TC-Timestamp",
            "X-TC-Region",
            "Authorization"
        ]
    );
    assert_eq!(signed.headers()[3].1, "1551113065");
}

#[test]
fn session_token_is_sent_and_redacted_from_debug() {
    let mut credentials = vector_credentials();
    credentials.session_token = Some(SecretString::from("tok-123"));
    let signed = sign(
        &credentials,
        &Request {
            service: "cwp",
            host: "cwp.tencentcloudapi.com",
            action: "DescribeLicenseGeneral",
            version: "2018-02-28",
            region: None,
            content_type: "application/json",
            timestamp: 1551113065,
            payload: b"{}",
        },
    );
    assert!(signed
        .headers()
        .iter()
        .any(|(k, v)| *k == "X-TC-Token" && v == "tok-123"));
    assert!(!signed.headers().iter().any(|(k, _)| *k == "X-TC-Region"));
    assert!(signed
        .authorization
        .contains("/2019-02-25/cwp/tc3_request, "));
    let debug = format!("{signed:?} {credentials:?}");
    assert!(
        !debug.contains("tok-123") && !debug.contains("Gu5t9x"),
        "{debug}"
    );
}

#[test]
fn utc_dates() {
    assert_eq!(utc_date(0), "1970-01-01");
    assert_eq!(utc_date(1551113065), "2019-02-25");
    assert_eq!(utc_date(951_782_400), "2000-02-29"); // leap day of a century leap year
    assert_eq!(utc_date(4_107_542_399), "2100-02-28"); // 2100 is not a leap year
    assert_eq!(utc_date(4_107_542_400), "2100-03-01");
    assert_eq!(utc_date(1_767_225_599), "2025-12-31");
    // Agrees with humantime's RFC 3339 formatting across a range of days.
    for day in (0..80_000u64).step_by(97) {
        let t = day * 86_400 + 43_210;
        let rfc = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(t),
        )
        .to_string();
        assert_eq!(utc_date(t), rfc[..10], "{t}");
    }
}
