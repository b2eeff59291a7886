use super::*;

fn outputs(json: &str) -> Result<Vec<Output>, Vec<FieldError>> {
    parse_outputs(serde_json::from_str(json).unwrap())
}

#[test]
fn config_errors_name_the_key() {
    let e = outputs(
        r#"[
            {"kind":"seats_limit","path":"$.a["},
            {"kind":"storage_used","path":"$.b"},
            {"kind":"storage_used","path":"$.b","unit":"megabytes"},
            {"kind":"seats_used","path":"$.c","unit":"GiB"},
            {"kind":"expiry","path":"$.d"},
            {"kind":"state","path":"$.e"},
            {"kind":"seats_used","path":"$.f","each":"$.list[*]"},
            {"kind":"seats_used","path":"$.f","item_path":"$.k"}
        ]"#,
    )
    .unwrap_err();
    let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "outputs[0].path",
            "outputs[1].unit",
            "outputs[2].unit",
            "outputs[3].unit",
            "outputs[4].unit",
            "outputs[5].name",
            "outputs[6].item_path",
            "outputs[7].item_path",
        ],
        "{e:?}"
    );
    assert!(e[0].message.contains("JSONPath"), "{}", e[0].message);
    assert!(e[2].message.contains("megabytes"), "{}", e[2].message);
    let e = outputs(r#"[{"kind":"seats_used","path":"$.a"},{"kind":"seats_used","path":"$.b"}]"#)
        .unwrap_err();
    assert_eq!(e[0].field, "outputs[1]");
    assert!(e[0].message.contains("outputs[0]"), "{}", e[0].message);
    let e = serde_json::from_str::<Vec<OutputSettings>>(r#"[{"kind":"seats","path":"$"}]"#)
        .unwrap_err();
    assert!(e.to_string().contains("seats_limit"), "{e}");
    assert!(outputs("[]").is_err());
}

#[test]
fn values_are_converted_and_traced() {
    let o = outputs(
        r#"[
            {"kind":"storage_capacity","path":"$.DataStorageMB.Max","unit":"MiB"},
            {"kind":"storage_used","path":"$.used","unit":"bytes"},
            {"kind":"expiry","path":"$.until","unit":"rfc3339"},
            {"kind":"expiry","path":"$.ms","unit":"unix_milliseconds","item":"other"},
            {"kind":"seats_limit","path":"$.n"},
            {"kind":"state","name":"plan","path":"$.plan"}
        ]"#,
    )
    .unwrap();
    let answer = serde_json::json!({
        "DataStorageMB": {"Max": 5, "Remaining": 4},
        "used": "1024",
        "until": "2023-02-01T00:00:00Z",
        "ms": 1675209600500u64,
        "n": 12,
        "plan": "business"
    });
    let mut trace = Vec::new();
    let s = extract(&o, &answer, Some(&mut trace)).unwrap();
    assert_eq!(
        s.value("http_json_storage_capacity_bytes", &[]),
        Some(5.0 * 1048576.0)
    );
    assert_eq!(s.value("http_json_storage_used_bytes", &[]), Some(1024.0));
    assert_eq!(
        s.value("http_json_expiry_timestamp_seconds", &[]),
        Some(1675209600.0)
    );
    assert_eq!(
        s.value("http_json_expiry_timestamp_seconds", &[("item", "other")]),
        Some(1675209600.5)
    );
    assert_eq!(s.value("http_json_seats_limit", &[]), Some(12.0));
    assert_eq!(
        s.value(
            "http_json_state",
            &[("field", "plan"), ("state", "business")]
        ),
        Some(1.0)
    );
    assert_eq!(trace.len(), 6);
    let line = trace[0].to_string();
    assert!(
        line.contains("$.DataStorageMB.Max")
            && line.contains("5 MiB × 1048576")
            && line.contains("http_json_storage_capacity_bytes 5242880"),
        "{line}"
    );
}

#[test]
fn items_from_lists() {
    let o = outputs(
        r#"[
            {"kind":"seats_limit","path":"$.numberOfSeats","each":"$[*]","item_path":"$.key"},
            {"kind":"seats_used","path":"$.userCount","each":"$","item_path":"$.key"}
        ]"#,
    )
    .unwrap();
    let answer = serde_json::json!([
        {"key":"jira-software","numberOfSeats":10,"userCount":5},
        {"key":"jira-servicedesk","numberOfSeats":3,"userCount":3}
    ]);
    let s = extract(&o, &answer, None).unwrap();
    assert_eq!(
        s.value("http_json_seats_limit", &[("item", "jira-servicedesk")]),
        Some(3.0)
    );
    assert_eq!(
        s.value("http_json_seats_used", &[("item", "jira-software")]),
        Some(5.0)
    );
    // An empty list is no items (the sample guard then refuses an answer with nothing).
    let s = extract(&o, &serde_json::json!([]), None).unwrap();
    assert!(s.is_empty());

    let dup = serde_json::json!([{"key":"a","numberOfSeats":1,"userCount":1},{"key":"a","numberOfSeats":2,"userCount":1}]);
    let e = extract(&o, &dup, None).unwrap_err();
    assert_eq!(e.reason, FailureReason::Decode);
    assert!(
        e.message.contains("outputs[0]") && e.message.contains("\"a\""),
        "{}",
        e.message
    );
    let summed = outputs(
            r#"[{"kind":"seats_limit","path":"$.numberOfSeats","each":"$[*]","item_path":"$.key","duplicates":"sum"}]"#,
        )
        .unwrap();
    let s = extract(&summed, &dup, None).unwrap();
    assert_eq!(
        s.value("http_json_seats_limit", &[("item", "a")]),
        Some(3.0)
    );
}

#[test]
fn bad_answers_fail_as_decode_naming_output_and_path() {
    let o = outputs(r#"[{"kind":"seats_used","name":"copilot","path":"$.seat_breakdown.total"}]"#)
        .unwrap();
    let cases = [
        (serde_json::json!({}), "no value"),
        (
            serde_json::json!({"seat_breakdown":{"total":"many"}}),
            "\"many\"",
        ),
        (
            serde_json::json!({"seat_breakdown":{"total":true}}),
            "a boolean",
        ),
        (
            serde_json::json!({"seat_breakdown":{"total":"NaN"}}),
            "finite",
        ),
        (
            serde_json::json!({"seat_breakdown":{"total":"inf"}}),
            "finite",
        ),
        (
            serde_json::json!({"seat_breakdown":{"total":-1}}),
            "negative",
        ),
        (
            serde_json::json!({"seat_breakdown":{"total":null}}),
            "no value",
        ),
    ];
    for (answer, expected) in cases {
        let e = extract(&o, &answer, None).unwrap_err();
        assert_eq!(e.reason, FailureReason::Decode);
        assert!(
            e.message.contains("outputs[0] \"copilot\"")
                && e.message.contains("$.seat_breakdown.total")
                && e.message.contains(expected),
            "{answer}: {}",
            e.message
        );
    }
    let many = outputs(r#"[{"kind":"seats_used","path":"$..n"}]"#).unwrap();
    let e = extract(&many, &serde_json::json!({"a":{"n":1},"b":{"n":2}}), None).unwrap_err();
    assert!(e.message.contains("selects 2 values"), "{}", e.message);
    let optional = outputs(r#"[{"kind":"seats_used","path":"$.x","optional":true}]"#).unwrap();
    assert!(extract(&optional, &serde_json::json!({}), None)
        .unwrap()
        .is_empty());
    let huge = outputs(r#"[{"kind":"storage_used","path":"$.x","unit":"PiB"}]"#).unwrap();
    let e = extract(&huge, &serde_json::json!({"x": 1e300}), None).unwrap_err();
    assert!(e.message.contains("too large"), "{}", e.message);
    let date = outputs(r#"[{"kind":"expiry","path":"$.x","unit":"rfc3339"}]"#).unwrap();
    let e = extract(&date, &serde_json::json!({"x": 5}), None).unwrap_err();
    assert!(e.message.contains("RFC 3339"), "{}", e.message);
}
