use super::*;
use std::time::Duration;

fn envelope(json: &str) -> ErrorEnvelope {
    serde_json::from_str(json).unwrap()
}

#[test]
fn next_links_stay_on_graph_url() {
    let tokens = |u: &str| {
        TokenSource::new(
            crate::vendors::oauth2::ClientCredentials {
                token_url: reqwest::Url::parse(u).unwrap(),
                client_id: "c".into(),
                client_secret: "s".to_owned().into(),
                scope: None,
                extra: Vec::new(),
                basic_auth: false,
            },
            "token",
        )
    };
    let direct = Client::new(
        reqwest::Url::parse("https://graph.microsoft.com").unwrap(),
        tokens("https://l/t"),
    );
    let next = direct
        .next_page("https://graph.microsoft.com/v1.0/directory/subscriptions?$skiptoken=X%27A")
        .unwrap();
    assert_eq!(
        next.as_str(),
        "https://graph.microsoft.com/v1.0/directory/subscriptions?$skiptoken=X%27A"
    );
    // A link to another host or over plain HTTP is fetched from graph_url all the same.
    let next = direct
        .next_page("http://evil.example:8080/v1.0/subscribedSkus?$skiptoken=2")
        .unwrap();
    assert_eq!(
        next.as_str(),
        "https://graph.microsoft.com/v1.0/subscribedSkus?$skiptoken=2"
    );
    // Behind a proxy with a path prefix, Graph's own links get the prefix.
    let proxied = Client::new(
        reqwest::Url::parse("https://proxy.internal/graph").unwrap(),
        tokens("https://l/t"),
    );
    let next = proxied
        .next_page("https://graph.microsoft.com/v1.0/subscribedSkus?$skiptoken=2")
        .unwrap();
    assert_eq!(
        next.as_str(),
        "https://proxy.internal/graph/v1.0/subscribedSkus?$skiptoken=2"
    );
    let next = proxied
        .next_page("https://proxy.internal/graph/v1.0/subscribedSkus?$skiptoken=3")
        .unwrap();
    assert_eq!(
        next.as_str(),
        "https://proxy.internal/graph/v1.0/subscribedSkus?$skiptoken=3"
    );
    assert!(direct.next_page("not a link").is_err());
}

#[test]
fn graph_errors_are_classified() {
    let throttled = r#"{"error":{"code":"TooManyRequests","message":"Too many requests","innerError":{"date":"2024-01-01T00:00:00","request-id":"r-1","client-request-id":"r-1"}}}"#;
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(reqwest::header::RETRY_AFTER, "12".parse().unwrap());
    let e = classify(
        "subscribedSkus",
        reqwest::StatusCode::TOO_MANY_REQUESTS,
        &h,
        &envelope(throttled),
    );
    assert_eq!(
        (e.reason, e.retry),
        (
            FailureReason::RateLimited,
            Retry::After(Duration::from_secs(12))
        )
    );
    assert!(
        e.message.contains("TooManyRequests") && e.message.contains("request-id r-1"),
        "{}",
        e.message
    );

    let none = reqwest::header::HeaderMap::new();
    let denied = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#;
    let e = classify(
        "subscriptions",
        reqwest::StatusCode::FORBIDDEN,
        &none,
        &envelope(denied),
    );
    assert_eq!(
        (e.reason, e.retry),
        (FailureReason::Permission, Retry::Never)
    );
    assert!(e.message.contains("Organization.Read.All"), "{}", e.message);

    let e = classify(
        "x",
        reqwest::StatusCode::UNAUTHORIZED,
        &none,
        &ErrorEnvelope::default(),
    );
    assert_eq!(e.reason, FailureReason::Auth);
    let e = classify(
        "x",
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        &none,
        &envelope(r#"{"error":{"code":"serviceNotAvailable","message":"busy"}}"#),
    );
    assert_eq!((e.reason, e.retry), (FailureReason::Api, Retry::Backoff));
    let e = classify(
        "x",
        reqwest::StatusCode::BAD_GATEWAY,
        &none,
        &ErrorEnvelope::default(),
    );
    assert_eq!(
        (e.reason, e.retry),
        (FailureReason::HttpStatus, Retry::Backoff)
    );
}
