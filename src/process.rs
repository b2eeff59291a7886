//! The `process_*` metrics every Prometheus client library exports on Linux, with the same names,
//! types and units, so the usual restart, memory and file-descriptor panels and alerts work for
//! this exporter too. Read from `/proc/self` when the exposition is rendered (the renderer keeps a
//! rendering at most [`MAX_AGE`], so scrapes in the same moment share one reading).
//!
//! On other systems, or when `/proc` cannot be read (a hardened sandbox), the series are left
//! out rather than reported as zero.

use std::time::Duration;

use crate::exposition::{write_header, write_sample, Format, MetricDesc, MetricType};

/// How long one reading may be served.
pub const MAX_AGE: Duration = Duration::from_secs(1);

static CPU: MetricDesc = MetricDesc {
    name: "process_cpu_seconds",
    help: "Total user and system CPU time spent in seconds",
    kind: MetricType::Counter,
    unit: Some("seconds"),
};
static RESIDENT: MetricDesc = MetricDesc::gauge_with_unit(
    "process_resident_memory_bytes",
    "bytes",
    "Resident memory size in bytes",
);
static VIRTUAL: MetricDesc = MetricDesc::gauge_with_unit(
    "process_virtual_memory_bytes",
    "bytes",
    "Virtual memory size in bytes",
);
static OPEN_FDS: MetricDesc =
    MetricDesc::gauge("process_open_fds", "Number of open file descriptors");
static MAX_FDS: MetricDesc =
    MetricDesc::gauge("process_max_fds", "Maximum number of open file descriptors");
static START_TIME: MetricDesc = MetricDesc::gauge_with_unit(
    "process_start_time_seconds",
    "seconds",
    "Start time of the process since unix epoch in seconds",
);

/// Every `process_*` family, for docs and tests.
pub static PROCESS_METRICS: &[&MetricDesc] =
    &[&CPU, &RESIDENT, &VIRTUAL, &OPEN_FDS, &MAX_FDS, &START_TIME];

/// One reading of the process's figures; a field is `None` when it could not be read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reading {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<f64>,
    pub virtual_bytes: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
    pub start_time_seconds: Option<f64>,
}

#[cfg(target_os = "linux")]
pub fn read() -> Reading {
    use procfs::process::{LimitValue, Process};
    use std::sync::OnceLock;

    let Ok(me) = Process::myself() else {
        return Reading::default();
    };
    let ticks = procfs::ticks_per_second() as f64;
    let stat = me.stat().ok();
    // Start time: boot time plus the start in clock ticks after boot; it never changes.
    static START: OnceLock<Option<f64>> = OnceLock::new();
    let start_time_seconds = *START.get_or_init(|| {
        let boot = procfs::boot_time_secs().ok()? as f64;
        Some(boot + me.stat().ok()?.starttime as f64 / ticks)
    });
    Reading {
        cpu_seconds: stat.as_ref().map(|s| (s.utime + s.stime) as f64 / ticks),
        resident_bytes: stat.as_ref().map(|s| (s.rss * procfs::page_size()) as f64),
        virtual_bytes: stat.as_ref().map(|s| s.vsize as f64),
        open_fds: me.fd_count().ok().map(|n| n as f64),
        max_fds: me.limits().ok().map(|l| match l.max_open_files.soft_limit {
            LimitValue::Value(n) => n as f64,
            LimitValue::Unlimited => f64::INFINITY,
        }),
        start_time_seconds,
    }
}

#[cfg(not(target_os = "linux"))]
pub fn read() -> Reading {
    Reading::default()
}

/// Writes one reading of the process into the exposition.
pub fn write(out: &mut String, format: Format) {
    write_reading(out, format, &read());
}

fn write_reading(out: &mut String, format: Format, r: &Reading) {
    for (desc, value) in [
        (&CPU, r.cpu_seconds),
        (&RESIDENT, r.resident_bytes),
        (&VIRTUAL, r.virtual_bytes),
        (&OPEN_FDS, r.open_fds),
        (&MAX_FDS, r.max_fds),
        (&START_TIME, r.start_time_seconds),
    ] {
        if let Some(v) = value {
            write_header(out, desc, format);
            write_sample(out, desc, &[], &[], v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process_from_proc() {
        let before = read();
        // Burn a little CPU and open a file, so the second reading must differ.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let _f = std::fs::File::open("/proc/self/stat").unwrap();
        let after = read();
        let (Some(cpu0), Some(cpu1)) = (before.cpu_seconds, after.cpu_seconds) else {
            panic!("no CPU time: {after:?}");
        };
        assert!(cpu1 >= cpu0 && cpu1 > 0.0, "{cpu0} -> {cpu1}");
        let rss = after.resident_bytes.unwrap();
        let vsz = after.virtual_bytes.unwrap();
        assert!(rss > 1e6 && vsz >= rss, "rss {rss}, vsz {vsz}");
        let open = after.open_fds.unwrap();
        assert!(open >= 4.0 && open <= after.max_fds.unwrap(), "{after:?}");
        // Started in the past, and not before this millennium.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = after.start_time_seconds.unwrap();
        assert!(
            start > 1e9 && start <= now + 1.0,
            "start {start}, now {now}"
        );
        assert_eq!(before.start_time_seconds, after.start_time_seconds);
    }

    #[test]
    fn renders_like_the_client_libraries_and_leaves_out_what_is_unknown() {
        let r = Reading {
            cpu_seconds: Some(1.5),
            resident_bytes: Some(4096.0),
            virtual_bytes: None,
            open_fds: Some(9.0),
            max_fds: Some(1024.0),
            start_time_seconds: Some(1.7e9),
        };
        let mut classic = String::new();
        write_reading(&mut classic, Format::Classic, &r);
        for line in [
            "# TYPE process_cpu_seconds_total counter",
            "process_cpu_seconds_total 1.5",
            "process_resident_memory_bytes 4096",
            "process_open_fds 9",
            "process_max_fds 1024",
            "process_start_time_seconds 1700000000",
        ] {
            assert!(classic.contains(line), "{line} missing:\n{classic}");
        }
        assert!(
            !classic.contains("process_virtual_memory_bytes"),
            "{classic}"
        );
        let mut om = String::new();
        write_reading(&mut om, Format::OpenMetrics, &r);
        assert!(
            om.contains("# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds"),
            "{om}"
        );
        assert!(om.contains("process_cpu_seconds_total 1.5"), "{om}");
    }
}
