use super::*;
use crate::vendors::decode_json;
use crate::vendors::koodrive::model::Envelope;

// The example on the "查询服务使用量 - GetQuotaUsed" page, verbatim.
const QUOTA_USED_EXAMPLE: &str = r#"{
"data" : {
"spaceUsed" : 7753298,
"spaceCapacity" : 10240,
"deptSpaceQuota" : 6144,
"personalSpaceQuota" : 2048,
"groupSpaceQuota" : 2048,
"reservedSpaceQuota" : 0,
"spaceQuotaUsed" : 327,
"deptSpaceUsed" : 1975057,
"deptSpaceQuotaUsed" : 42,
"personalSpaceUsed" : 3933426,
"personalSpaceQuotaUsed" : 35,
"groupSpaceUsed" : 1844815,
"groupSpaceQuotaUsed" : 250,
"userCount" : 20,
"userMaxCount" : 100,
"packageDownloadExpires" : 7,
"productType" : "1"
},
"code" : 0,
"msg" : "success"
}"#;

// The example on the "Obtaining the Subscription Status" page, with the four commas the page
// leaves out (after departmentSpaceSize, productType and wpsAvailable) put back.
const SERVICE_EXAMPLE: &str = r#"{ "data": { "tenantId": "40086000004871666", "status": 0, "spaceCapacity": 10000, "userCount": 7000, "personalSpaceSize": 0, "groupSpaceSize": 10, "organizationName": "KooDrive", "organizationId": "9190086000001210958", "rootDeptCode": "aed8a3763f9b4177beb2dd8bce1a3885", "departmentSpaceSize":0, "productType":"2", "wpsAvailable":true, "aiAvailable": true }, "code": 0, "msg": "Successful" }"#;

// The same answers as older API versions send them: every number and boolean a string.
const QUOTA_USED_STRINGS: &str = r#"{"code":"0","msg":"success","data":{"spaceUsed":"7753298","spaceCapacity":"10240",
        "deptSpaceQuota":"6144","personalSpaceQuota":"2048","groupSpaceQuota":"2048","reservedSpaceQuota":"0",
        "spaceQuotaUsed":"327","deptSpaceUsed":"1975057","deptSpaceQuotaUsed":"42","personalSpaceUsed":"3933426",
        "personalSpaceQuotaUsed":"35","groupSpaceUsed":"1844815","groupSpaceQuotaUsed":"250","userCount":"20",
        "userMaxCount":"100","packageDownloadExpires":"7","productType":"1","someNewField":{"x":1}}}"#;
const SERVICE_STRINGS: &str = r#"{"code":"0","msg":"Successful","data":{"tenantId":"40086000004871666","status":"1",
        "spaceCapacity":"10000","userCount":"7000","personalSpaceSize":"0","groupSpaceSize":"10","organizationName":"KooDrive",
        "organizationId":"9190086000001210958","rootDeptCode":"aed8a3763f9b4177beb2dd8bce1a3885","departmentSpaceSize":"0",
        "productType":"2","wpsAvailable":"false","aiAvailable":"true"}}"#;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn decode(quota: &str, service: &str) -> (QuotaUsed, Service) {
    let q: Envelope<QuotaUsed> = decode_json("quotaUsed", quota.as_bytes()).unwrap();
    let s: Envelope<Service> = decode_json("service", service.as_bytes()).unwrap();
    (q.data.unwrap(), s.data.unwrap())
}

#[test]
fn documentation_examples_map_to_samples() {
    let (q, svc) = decode(QUOTA_USED_EXAMPLE, SERVICE_EXAMPLE);
    let s = samples(&q, &svc, Units::default());
    let space = |name: &str, space: &str| s.value(name, &[("space", space)]);
    // 10240 GB at GiB, and 7753298 used at KiB: 7753298 × 1024 = 7939377152 bytes.
    assert_eq!(
        s.value("koodrive_capacity_bytes", &[]),
        Some(10_995_116_277_760.0)
    );
    assert_eq!(
        space("koodrive_used_bytes", "department"),
        Some(1975057.0 * 1024.0)
    );
    assert_eq!(
        space("koodrive_used_bytes", "personal"),
        Some(3933426.0 * 1024.0)
    );
    assert_eq!(
        space("koodrive_used_bytes", "group"),
        Some(1844815.0 * 1024.0)
    );
    let used: f64 = ["department", "personal", "group"]
        .iter()
        .map(|sp| space("koodrive_used_bytes", sp).unwrap())
        .sum();
    assert_eq!(used, 7_939_377_152.0);
    assert_eq!(
        space("koodrive_quota_bytes", "department"),
        Some(6144.0 * GIB)
    );
    assert_eq!(
        space("koodrive_quota_bytes", "personal"),
        Some(2048.0 * GIB)
    );
    assert_eq!(space("koodrive_quota_bytes", "group"), Some(2048.0 * GIB));
    assert_eq!(space("koodrive_quota_bytes", "reserved"), Some(0.0));
    assert_eq!(
        space("koodrive_quota_allocated_bytes", "department"),
        Some(42.0 * GIB)
    );
    assert_eq!(
        space("koodrive_quota_allocated_bytes", "personal"),
        Some(35.0 * GIB)
    );
    assert_eq!(
        space("koodrive_quota_allocated_bytes", "group"),
        Some(250.0 * GIB)
    );
    assert_eq!(space("koodrive_quota_allocated_bytes", "reserved"), None);
    assert_eq!(s.value("koodrive_users", &[]), Some(20.0));
    assert_eq!(s.value("koodrive_users_limit", &[]), Some(100.0));
    assert_eq!(
        s.value("koodrive_package_download_retention_seconds", &[]),
        Some(7.0 * 86_400.0)
    );

    assert_eq!(
        s.value("koodrive_service_state", &[("state", "normal")]),
        Some(1.0)
    );
    assert_eq!(
        s.value("koodrive_service_state", &[("state", "frozen")]),
        Some(0.0)
    );
    assert_eq!(s.value("koodrive_service_status_code", &[]), Some(0.0));
    assert_eq!(
        s.value("koodrive_subscription_capacity_bytes", &[]),
        Some(10000.0 * GIB)
    );
    assert_eq!(
        s.value("koodrive_subscription_users_limit", &[]),
        Some(7000.0)
    );
    assert_eq!(
        space("koodrive_default_space_bytes", "department"),
        Some(0.0)
    );
    assert_eq!(space("koodrive_default_space_bytes", "personal"), Some(0.0));
    assert_eq!(
        space("koodrive_default_space_bytes", "group"),
        Some(10.0 * GIB)
    );
    assert_eq!(
        s.value("koodrive_feature_enabled", &[("feature", "ai")]),
        Some(1.0)
    );
    assert_eq!(
        s.value("koodrive_feature_enabled", &[("feature", "wps")]),
        Some(1.0)
    );
    let info = [
        ("tenant_id", "40086000004871666"),
        ("organization_id", "9190086000001210958"),
        ("organization_name", "KooDrive"),
        ("product_type", "2"),
    ];
    assert_eq!(s.value("koodrive", &info), Some(1.0));
}

#[test]
fn string_typed_answers_decode_to_the_same_values() {
    let (q, svc) = decode(QUOTA_USED_STRINGS, SERVICE_STRINGS);
    let s = samples(&q, &svc, Units::default());
    assert_eq!(s.value("koodrive_capacity_bytes", &[]), Some(10240.0 * GIB));
    assert_eq!(
        s.value("koodrive_used_bytes", &[("space", "personal")]),
        Some(3933426.0 * 1024.0)
    );
    assert_eq!(s.value("koodrive_users", &[]), Some(20.0));
    assert_eq!(
        s.value("koodrive_service_state", &[("state", "frozen")]),
        Some(1.0)
    );
    assert_eq!(
        s.value("koodrive_service_state", &[("state", "normal")]),
        Some(0.0)
    );
    assert_eq!(s.value("koodrive_service_status_code", &[]), Some(1.0));
    assert_eq!(
        s.value("koodrive_feature_enabled", &[("feature", "wps")]),
        Some(0.0)
    );
    assert_eq!(
        s.value("koodrive_feature_enabled", &[("feature", "ai")]),
        Some(1.0)
    );
}

#[test]
fn unknown_status_and_missing_fields() {
    let (q, svc) = decode(
        r#"{"code":0,"data":{"spaceCapacity":1}}"#,
        r#"{"code":0,"data":{"status":7}}"#,
    );
    let s = samples(
        &q,
        &svc,
        Units {
            used: Unit::B,
            quota: Unit::GB,
        },
    );
    assert_eq!(s.value("koodrive_capacity_bytes", &[]), Some(1e9));
    assert_eq!(
        s.value("koodrive_service_state", &[("state", "normal")]),
        Some(0.0)
    );
    assert_eq!(
        s.value("koodrive_service_state", &[("state", "frozen")]),
        Some(0.0)
    );
    assert_eq!(s.value("koodrive_service_status_code", &[]), Some(7.0));
    // Not returned: absent, never zero.
    for name in [
        "koodrive_used_bytes",
        "koodrive_users",
        "koodrive_feature_enabled",
        "koodrive",
        "koodrive_default_space_bytes",
    ] {
        assert_eq!(s.value(name, &[]), None, "{name}");
    }
    let (q, svc) = decode(r#"{"code":0,"data":{}}"#, r#"{"code":0,"data":{}}"#);
    assert!(samples(&q, &svc, Units::default()).is_empty());
}

#[test]
fn decimal_units_scale_too() {
    let (q, svc) = decode(QUOTA_USED_EXAMPLE, SERVICE_EXAMPLE);
    let s = samples(
        &q,
        &svc,
        Units {
            used: Unit::KB,
            quota: Unit::GB,
        },
    );
    // 10240 GB (decimal) = 10240 × 10^9 bytes.
    assert_eq!(
        s.value("koodrive_capacity_bytes", &[]),
        Some(10_240_000_000_000.0)
    );
    assert_eq!(
        s.value("koodrive_used_bytes", &[("space", "group")]),
        Some(1_844_815_000.0)
    );
}

/// Settings written as JSON: the config loader turns YAML into the same tree.
/// Gives the account's description, or the errors.
fn parse_json(json: &str) -> Result<String, Vec<FieldError>> {
    parse(
        serde_json::from_str(json).unwrap(),
        &mut ParseContext::new("t"),
    )
    .map(|a| a.describe())
}

#[test]
fn settings_need_exactly_one_way_to_authenticate() {
    let d = parse_json(r#"{"app_id":"a","app_secret":"s","user_id":"1"}"#).unwrap();
    assert!(
        d.contains("app signature") && d.contains("app_id=a") && !d.contains("=s,"),
        "{d}"
    );
    assert!(
        d.contains("used_unit=KiB") && d.contains("quota_unit=GiB") && d.contains(DEFAULT_BASE_URL),
        "{d}"
    );
    let d = parse_json(
        r#"{"bearer_token":"tok-value","base_url":"https://intl.myhuaweicloud-koodrive.com"}"#,
    )
    .unwrap();
    assert!(
        d.contains("bearer token") && !d.contains("tok-value"),
        "{d}"
    );

    let e = parse_json(r#"{"user_id":"1"}"#).unwrap_err();
    assert!(
        e[0].message.contains("no credentials") && e[0].message.contains("bearer_token"),
        "{e:?}"
    );
    let e = parse_json(r#"{"app_id":"a","app_secret":"s","user_id":"1","bearer_token":"t"}"#)
        .unwrap_err();
    assert!(
        e[0].message.contains("exactly one") && e[0].message.contains("app_id"),
        "{e:?}"
    );
    let e = parse_json(r#"{"app_id":"a","app_secret":"s"}"#).unwrap_err();
    assert_eq!(e[0].field, "user_id", "{e:?}");
    let e = parse_json(r#"{"app_secret":"s","user_id":"1"}"#).unwrap_err();
    assert_eq!(e[0].field, "app_id", "{e:?}");
    let e = parse_json(r#"{"bearer_token":{"env":"QE_TEST_KOODRIVE_UNSET_TOKEN"}}"#).unwrap_err();
    assert_eq!(e[0].field, "bearer_token", "{e:?}");
    assert!(
        e[0].message.contains("QE_TEST_KOODRIVE_UNSET_TOKEN"),
        "{e:?}"
    );
}

#[test]
fn settings_reject_unknown_keys_units_and_urls() {
    let e = parse_json(r#"{"bearer_token":"t","secret":"x"}"#).unwrap_err();
    assert!(e[0].message.contains("unknown field `secret`"), "{e:?}");
    let e = parse_json(r#"{"bearer_token":"t","used_unit":"kb"}"#).unwrap_err();
    assert_eq!(e[0].field, "used_unit", "{e:?}");
    assert!(e[0].message.contains("KiB"), "{e:?}");
    let e = parse_json(r#"{"bearer_token":"t","quota_unit":"GB2"}"#).unwrap_err();
    assert_eq!(e[0].field, "quota_unit", "{e:?}");
    let d = parse_json(r#"{"bearer_token":"t","used_unit":"B","quota_unit":"TB"}"#).unwrap();
    assert!(
        d.contains("used_unit=B,") && d.contains("quota_unit=TB"),
        "{d}"
    );
    let e = parse_json(r#"{"bearer_token":"t","base_url":"not a url"}"#).unwrap_err();
    assert_eq!(e[0].field, "base_url", "{e:?}");
}
