use super::*;

#[test]
fn error_codes_are_classified() {
    use FailureReason::*;
    let cases: &[(&str, FailureReason, Retry)] = &[
        ("RequestLimitExceeded", RateLimited, Retry::Backoff),
        (
            "RequestLimitExceeded.UinLimitExceeded",
            RateLimited,
            Retry::Backoff,
        ),
        ("InternalError", Api, Retry::Backoff),
        ("InternalError.DbError", Api, Retry::Backoff),
        ("ServiceUnavailable", Api, Retry::Backoff),
        ("AuthFailure.SignatureFailure", Auth, Retry::Never),
        ("AuthFailure.SecretIdNotFound", Auth, Retry::Never),
        ("AuthFailure.SignatureExpire", Auth, Retry::Never),
        ("AuthFailure.TokenFailure", Auth, Retry::Never),
        ("UnauthorizedOperation", Permission, Retry::Never),
        (
            "UnauthorizedOperation.NotAuthorized",
            Permission,
            Retry::Never,
        ),
        (
            "AuthFailure.UnauthorizedOperation",
            Permission,
            Retry::Never,
        ),
        ("InvalidParameter", Api, Retry::Never),
        ("ResourceNotFound", Api, Retry::Never),
    ];
    for &(code, reason, retry) in cases {
        let e = classify("DescribeLicenseGeneral", code, " msg ", "req-1");
        assert_eq!((e.reason, e.retry), (reason, retry), "{code}");
        assert!(
            e.message
                .starts_with("DescribeLicenseGeneral: Tencent Cloud error "),
            "{}",
            e.message
        );
        assert!(
            e.message.contains(code) && e.message.contains("RequestId req-1"),
            "{}",
            e.message
        );
    }
    assert!(classify("a", "AuthFailure.SignatureExpire", "", "r")
        .message
        .contains("check the host clock (NTP)"));
    assert!(!classify("a", "AuthFailure.SignatureFailure", "", "r")
        .message
        .contains("clock"));
    for code in ["UnauthorizedOperation", "AuthFailure.UnauthorizedOperation"] {
        let m = classify("a", code, "", "r").message;
        assert!(m.contains("QcloudCWPReadOnlyAccess"), "{m}");
        assert!(!m.contains("check secret_id"), "{m}");
    }
}
