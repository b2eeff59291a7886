use super::*;
use crate::vendors::{decode_json, FailureReason};

#[test]
fn codes_come_as_numbers_or_strings() {
    for (body, code, ok) in [
        (r#"{"code":0,"msg":"success"}"#, Some("0"), true),
        (r#"{"code":"0","msg":"Successful"}"#, Some("0"), true),
        (r#"{"code":31001,"msg":"x"}"#, Some("31001"), false),
        (
            r#"{"code":"APIGW.0308","msg":"throttled"}"#,
            Some("APIGW.0308"),
            false,
        ),
        (r#"{"msg":"no code"}"#, None, true),
    ] {
        let s: Status = decode_json("t", body.as_bytes()).unwrap();
        assert_eq!((s.code.as_deref(), s.is_success()), (code, ok), "{body}");
    }
    let s: Status = decode_json(
            "t",
            br#"{"error_code":"APIGW.0303","error_msg":"Incorrect app authentication information","request_id":"0f3c"}"#,
        )
        .unwrap();
    assert!(!s.is_success());
    assert_eq!(
        (s.gateway_code(), s.request_id.as_deref()),
        (Some("APIGW.0303"), Some("0f3c"))
    );
}

#[test]
fn text_fields_accept_numbers_and_reject_objects() {
    let s: Service = decode_json(
        "service",
        br#"{"tenantId":40086000004871666,"productType":2,"organizationName":""}"#,
    )
    .unwrap();
    assert_eq!(s.tenant_id.as_deref(), Some("40086000004871666"));
    assert_eq!(s.product_type.as_deref(), Some("2"));
    assert_eq!(s.organization_name, None);
    let e = decode_json::<Service>("service", br#"{"tenantId":{"id":1}}"#).unwrap_err();
    assert_eq!(e.reason, FailureReason::Decode);
    assert!(e.message.contains("tenantId"), "{}", e.message);
}
