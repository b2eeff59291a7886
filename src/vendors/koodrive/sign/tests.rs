use std::time::{Duration, UNIX_EPOCH};

use super::*;

const SECRET: &[u8] = b"made-up-app-secret-0123456789";

// Expected values derived by hand from the documented steps, independently of this code:
// a one-off Python script built the canonical request with plain string formatting
// (`urllib.parse.quote(…, safe='-_.~')` for the query) and computed the hashes with
// `hashlib.sha256` and `hmac.new(secret, string_to_sign, hashlib.sha256)`.
#[test]
fn documented_steps_vector() {
    let headers = [
        ("Host", "cn.myhuaweicloud-koodrive.com"),
        ("X-Date", "20250102T030405Z"),
        ("X-User-Id", "1505084218764547200"),
    ];
    let request = Request {
        method: "GET",
        path: "/koodrive/ose/v1/service/quotaUsed",
        query: &[],
        headers: &headers,
        body: b"",
    };
    let signed = sign(&request, SECRET);
    assert_eq!(
            signed.canonical_request,
            "GET\n/koodrive/ose/v1/service/quotaUsed/\n\nhost:cn.myhuaweicloud-koodrive.com\nx-date:20250102T030405Z\n\
             x-user-id:1505084218764547200\n\nhost;x-date;x-user-id\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    assert_eq!(
        signed.string_to_sign,
        "HMAC-SHA256\n1f9d05e3bab2f2ae8a7ca87def5b74a134d7b67d5cc1e245916096695ba39593"
    );
    assert_eq!(
        signed.signature,
        "2ee7c6839778cda757bf73506b951dd70b23955841212f4e037942397c7120c3"
    );
    assert_eq!(
        signed.authorization("app-1"),
        "HMAC-SHA256 AppId=app-1,SignedHeaders=host;x-date;x-user-id,\
             Signature=2ee7c6839778cda757bf73506b951dd70b23955841212f4e037942397c7120c3"
    );
}

// Same derivation; checks query sorting and encoding, header sorting, case and trimming.
#[test]
fn query_and_headers_are_canonicalised() {
    let headers = [
        ("X-User-Id", " 1505084218764547200 "),
        ("Host", "intl.myhuaweicloud-koodrive.com"),
        ("X-Date", "20991231T235959Z"),
    ];
    let query = [("language", "en-US"), ("b", "x y/ü"), ("a", "1")];
    let request = Request {
        method: "GET",
        path: "/koodrive/ose/v1/service",
        query: &query,
        headers: &headers,
        body: b"",
    };
    let signed = sign(&request, SECRET);
    assert_eq!(
            signed.canonical_request,
            "GET\n/koodrive/ose/v1/service/\na=1&b=x%20y%2F%C3%BC&language=en-US\n\
             host:intl.myhuaweicloud-koodrive.com\nx-date:20991231T235959Z\nx-user-id:1505084218764547200\n\n\
             host;x-date;x-user-id\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    assert_eq!(
        signed.string_to_sign,
        "HMAC-SHA256\n6dd31e2190bd8f4c842183b0d9d178b7cddfc11ea8eb54d7df8a50ba6c3ec34c"
    );
    assert_eq!(
        signed.signature,
        "c14b3a612fae5021a580b1302a21adb9be1cfa5615586f184d187cfbc2666379"
    );
}

#[test]
fn trailing_slash_is_not_doubled_and_escapes_are_not_encoded_twice() {
    assert_eq!(canonical_uri("/a/b/"), "/a/b/");
    assert_eq!(canonical_uri("/a%20b/c"), "/a%20b/c/");
    assert_eq!(canonical_uri(""), "/");
}

#[test]
fn x_date_is_compact_utc() {
    // 1735787045 is 2025-01-02T03:04:05Z; 4102444799 is 2099-12-31T23:59:59Z.
    assert_eq!(
        x_date(UNIX_EPOCH + Duration::from_secs(1735787045)),
        "20250102T030405Z"
    );
    assert_eq!(
        x_date(UNIX_EPOCH + Duration::from_secs(4102444799)),
        "20991231T235959Z"
    );
}
