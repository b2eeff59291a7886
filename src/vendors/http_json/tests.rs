use super::*;

fn parse_json(json: &str) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    parse(
        serde_json::from_str(json).unwrap(),
        &mut ParseContext::new("t"),
    )
}

#[test]
fn settings_errors_name_the_key() {
    std::env::remove_var("QE_HTTPJSON_MISSING");
    let e = parse_json(
        r#"{"url":"https://x.example/a?b=1","method":"DELETE",
                "headers":{"bad name":"v","Host":"h","X-Key":{"env":"QE_HTTPJSON_MISSING"}},
                "auth":{"basic":{"username":"a:b","password":"p"}},
                "outputs":[{"kind":"seats_used","path":"$.x","unit":"GB"}]}"#,
    )
    .err()
    .unwrap();
    let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "url",
            "method",
            "headers.Host",
            "headers.X-Key",
            "headers.bad name",
            "auth.basic.username",
            "outputs[0].unit"
        ],
        "{e:?}"
    );
    assert!(e[0].message.contains("under `query`"), "{}", e[0].message);
    assert!(
        e[3].message.contains("QE_HTTPJSON_MISSING"),
        "{}",
        e[3].message
    );
    let e = parse_json(r#"{"url":"https://x.example","body":{},"outputs":[]}"#)
        .err()
        .unwrap();
    assert_eq!(e[0].field, "body");
    let e =
        parse_json(r#"{"url":"https://x.example","auth":{"bearer":"t","basic":{}},"outputs":[]}"#)
            .err()
            .unwrap();
    assert!(e[0].field.starts_with("auth"), "{e:?}");
    let e = parse_json(
            r#"{"url":"https://x.example","auth":{"oauth2":{"token_url":"https://t.example/token","client_id":"c","client_secret":"s","audience":"x"}},"outputs":[]}"#,
        )
        .err()
        .unwrap();
    assert!(e[0].message.contains("audience"), "{e:?}");
}

#[test]
fn describe_shows_no_secret() {
    let a = parse_json(
        r#"{"url":"https://api.example/orgs/acme/copilot/billing",
                "headers":{"X-GitHub-Api-Version":"2022-11-28"},
                "query":{"key":"query-s3cret"},
                "auth":{"bearer":"bearer-s3cret"},
                "outputs":[{"kind":"seats_limit","path":"$.seat_breakdown.total"}]}"#,
    )
    .unwrap();
    let d = a.describe();
    assert!(
        d.contains("GET https://api.example/orgs/acme/copilot/billing")
            && d.contains("query=[key]")
            && d.contains("seats_limit $.seat_breakdown.total"),
        "{d}"
    );
    assert!(!d.contains("s3cret"), "{d}");
}
