use super::*;
use crate::vendors::decode_json;

// The examples on WeCom's "版本和容量管理" page, verbatim.
const PRO_INFO_EXAMPLE: &str = r#"{
 "errcode": 0,
 "errmsg": "ok",
 "is_pro": true,
 "total_vip_acct_num": 10,
 "use_vip_acct_num": 5,
 "pro_expire_time": 1754827419
}"#;
const CAPACITY_EXAMPLE: &str = r#"{
 "errcode": 0,
 "errmsg": "ok",
 "total_capacity_for_all": 22666689904640,
 "total_capacity_for_vip": 22300038149020
}"#;

#[test]
fn documentation_examples_map_to_samples() {
    let pro: ProInfo = decode_json("mng_pro_info", PRO_INFO_EXAMPLE.as_bytes()).unwrap();
    let cap: Capacity = decode_json("mng_capacity", CAPACITY_EXAMPLE.as_bytes()).unwrap();
    let s = samples(&pro, &cap);
    assert_eq!(s.value("wecom_wedrive_pro_enabled", &[]), Some(1.0));
    assert_eq!(s.value("wecom_wedrive_vip_seats_limit", &[]), Some(10.0));
    assert_eq!(s.value("wecom_wedrive_vip_seats_used", &[]), Some(5.0));
    assert_eq!(
        s.value("wecom_wedrive_pro_expiry_timestamp_seconds", &[]),
        Some(1754827419.0)
    );
    assert_eq!(
        s.value("wecom_wedrive_capacity_bytes", &[("pool", "all")]),
        Some(22666689904640.0)
    );
    assert_eq!(
        s.value("wecom_wedrive_capacity_bytes", &[("pool", "vip")]),
        Some(22300038149020.0)
    );
    // Not in the example: absent, not zero.
    assert_eq!(s.value("wecom_wedrive_capacity_free_bytes", &[]), None);
}

#[test]
fn free_capacity_and_string_numbers() {
    let cap: Capacity = decode_json(
            "mng_capacity",
            br#"{"errcode":0,"total_capacity_for_all":"1000","total_capacity_for_vip":500,"rest_capacity_for_all":"80","rest_capacity_for_vip":0}"#,
        )
        .unwrap();
    let pro: ProInfo =
        decode_json("mng_pro_info", br#"{"is_pro":"false","pro_expire_time":0}"#).unwrap();
    let s = samples(&pro, &cap);
    assert_eq!(
        s.value("wecom_wedrive_capacity_free_bytes", &[("pool", "all")]),
        Some(80.0)
    );
    assert_eq!(
        s.value("wecom_wedrive_capacity_free_bytes", &[("pool", "vip")]),
        Some(0.0)
    );
    assert_eq!(
        s.value("wecom_wedrive_capacity_bytes", &[("pool", "all")]),
        Some(1000.0)
    );
    assert_eq!(s.value("wecom_wedrive_pro_enabled", &[]), Some(0.0));
    assert_eq!(
        s.value("wecom_wedrive_pro_expiry_timestamp_seconds", &[]),
        None
    );
}

#[test]
fn wrong_types_are_decode_errors_naming_the_field() {
    let e = decode_json::<Capacity>("mng_capacity", br#"{"total_capacity_for_all":{"v":1}}"#)
        .unwrap_err();
    assert!(
        e.message.contains("total_capacity_for_all"),
        "{}",
        e.message
    );
}

#[test]
fn quota_warning_follows_the_arithmetic() {
    assert!(quota_warning(Duration::from_secs(3600), 0)
        .unwrap()
        .contains("1440"));
    assert!(quota_warning(DEFAULT_INTERVAL, 0).is_none());
}

#[test]
fn quota_warning_counts_retries() {
    // 2h: 360 polls a month, 720 calls; with 2 retries each poll can cost 4 calls = 1440.
    let two_hours = Duration::from_secs(2 * 3600);
    assert!(quota_warning(two_hours, 0).is_none());
    let w = quota_warning(two_hours, 2).expect("warns");
    assert!(w.contains("720") && w.contains("1440"), "{w}");
    // 1 retry: 1080 calls at worst, above the quota as well.
    assert!(quota_warning(two_hours, 1).unwrap().contains("1080"));
    // The default (3h) with the default 2 retries: 240 × 4 = 960, under the quota.
    assert!(quota_warning(DEFAULT_INTERVAL, 2).is_none());
    assert!(quota_warning(DEFAULT_INTERVAL, 3).is_some());
}
