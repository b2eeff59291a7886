//! What the landing page shows of an account's data: the few figures an operator looks for
//! first (used of bought, days to expiry), taken from the account's latest samples — the same
//! series the recording rules read, so the page and the dashboards agree.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::exposition::Samples;

/// Where the project documents itself; the landing page links here.
pub const DOCS_URL: &str = "https://github.com/quota-exporter/quota-exporter/blob/main/";

/// The key figures of one account, e.g. `["storage 1.8 TiB of 20.6 TiB (9%)", "VIP seats 9 of 10
/// (90%)", "pro expires in 6 days"]`. Figures whose series are absent are left out.
pub fn figures(vendor: &str, s: &Samples, now: SystemTime) -> Vec<String> {
    let v = |name: &str, labels: &[(&str, &str)]| s.value(name, labels);
    let mut out = Vec::new();
    match vendor {
        "wecom_wedrive" => {
            let all = v("wecom_wedrive_capacity_bytes", &[("pool", "all")]);
            let free = v("wecom_wedrive_capacity_free_bytes", &[("pool", "all")]);
            if let (Some(all), Some(free)) = (all, free) {
                out.push(of("storage", all - free, all, bytes));
            }
            push_ratio(
                &mut out,
                "VIP seats",
                v("wecom_wedrive_vip_seats_used", &[]),
                v("wecom_wedrive_vip_seats_limit", &[]),
            );
            if let Some(at) = v("wecom_wedrive_pro_expiry_timestamp_seconds", &[]) {
                out.push(format!("pro {}", expires(at, now)));
            }
        }
        "koodrive" => {
            let used: Option<f64> = s
                .families()
                .find(|f| f.desc.name == "koodrive_used_bytes")
                .map(|f| f.samples.iter().map(|x| x.value).sum());
            if let (Some(used), Some(cap)) = (used, v("koodrive_capacity_bytes", &[])) {
                out.push(of("storage", used, cap, bytes));
            }
            push_ratio(
                &mut out,
                "users",
                v("koodrive_users", &[]),
                v("koodrive_users_limit", &[]),
            );
        }
        "tencentcloud_cwp" => {
            push_ratio(
                &mut out,
                "licences",
                v("tencentcloud_cwp_licenses_used", &[]),
                v("tencentcloud_cwp_licenses_unexpired", &[]),
            );
            for (name, what) in [
                (
                    "tencentcloud_cwp_licenses_expiring",
                    "expiring within 15 days",
                ),
                ("tencentcloud_cwp_licenses_expired", "expired"),
            ] {
                if let Some(n) = v(name, &[]).filter(|n| *n > 0.0) {
                    out.push(format!("{n} {what}"));
                }
            }
        }
        _ => {}
    }
    out
}

fn push_ratio(out: &mut Vec<String>, what: &str, used: Option<f64>, limit: Option<f64>) {
    if let (Some(used), Some(limit)) = (used, limit) {
        out.push(of(what, used, limit, |n| format!("{n}")));
    }
}

/// `what used of limit (p%)`; no percentage when nothing was bought.
fn of(what: &str, used: f64, limit: f64, unit: fn(f64) -> String) -> String {
    let mut s = format!("{what} {} of {}", unit(used), unit(limit));
    if limit > 0.0 {
        s.push_str(&format!(" ({:.0}%)", used / limit * 100.0));
    }
    s
}

/// Binary units, one decimal: `1.8 TiB`.
fn bytes(n: f64) -> String {
    let mut value = n;
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
        if value.abs() < 1024.0 {
            return if unit == "B" {
                format!("{value:.0} {unit}")
            } else {
                format!("{value:.1} {unit}")
            };
        }
        value /= 1024.0;
    }
    format!("{value:.1} PiB")
}

/// `expires in 6 days` / `expired 2 days ago`, from a unix timestamp.
fn expires(at: f64, now: SystemTime) -> String {
    let now = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let days = ((at - now) / 86400.0).floor();
    match days {
        d if d >= 1.0 => format!("expires in {d:.0} day{}", if d == 1.0 { "" } else { "s" }),
        d if d >= 0.0 => "expires within a day".to_owned(),
        d => format!("expired {:.0} days ago", -d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::MetricDesc;
    use std::time::Duration;

    static CAP: MetricDesc = MetricDesc::gauge("wecom_wedrive_capacity_bytes", "h");
    static FREE: MetricDesc = MetricDesc::gauge("wecom_wedrive_capacity_free_bytes", "h");
    static USED: MetricDesc = MetricDesc::gauge("wecom_wedrive_vip_seats_used", "h");
    static LIMIT: MetricDesc = MetricDesc::gauge("wecom_wedrive_vip_seats_limit", "h");
    static EXPIRY: MetricDesc =
        MetricDesc::gauge("wecom_wedrive_pro_expiry_timestamp_seconds", "h");

    #[test]
    fn wedrive_figures() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut s = Samples::new();
        s.push(&CAP, vec![("pool", "all".into())], 2.0 * 1024f64.powi(4));
        s.push(&FREE, vec![("pool", "all".into())], 0.5 * 1024f64.powi(4));
        s.set(&USED, 9.0);
        s.set(&LIMIT, 10.0);
        s.set(&EXPIRY, 1_000_000.0 + 6.5 * 86400.0);
        assert_eq!(
            figures("wecom_wedrive", &s, now),
            [
                "storage 1.5 TiB of 2.0 TiB (75%)",
                "VIP seats 9 of 10 (90%)",
                "pro expires in 6 days"
            ]
        );
        // Absent series, absent figures; past deadlines say so.
        let mut s = Samples::new();
        s.set(&EXPIRY, 1_000_000.0 - 2.5 * 86400.0);
        assert_eq!(
            figures("wecom_wedrive", &s, now),
            ["pro expired 3 days ago"]
        );
        assert_eq!(of("users", 3.0, 0.0, |n| format!("{n}")), "users 3 of 0");
        assert_eq!(bytes(512.0), "512 B");
    }
}
