//! Log lines in logfmt with the keys Prometheus itself writes (its `promslog` format):
//! `time=2026-01-02T03:04:05.678Z level=INFO source=server.rs:42 msg="listening" address=…`,
//! so that log pipelines parsing Prometheus components parse this exporter unchanged.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter (use with `tracing_subscriber::fmt::layer().event_format(Logfmt)`).
pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str(&line(event))
    }
}

fn line(event: &Event<'_>) -> String {
    let meta = event.metadata();
    let level = match *meta.level() {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    };
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now());
    let mut out = format!("time={now} level={level}");
    if let (Some(file), Some(line)) = (meta.file(), meta.line()) {
        let file = file.rsplit('/').next().unwrap_or(file);
        let _ = write!(out, " source={file}:{line}");
    }
    let mut fields = Fields::default();
    event.record(&mut fields);
    let _ = write!(out, " msg={}", quote(&fields.message));
    for (k, v) in fields.rest {
        let _ = write!(out, " {k}={}", quote(&v));
    }
    out.push('\n');
    out
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.rest.push((field.name().to_owned(), value));
        }
    }
}

/// A logfmt value: bare when it needs no quoting, else double-quoted with escapes.
fn quote(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c == ' ' || c == '"' || c == '=' || c.is_control())
    {
        return v.to_owned();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(quote("listening"), "listening");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("x=\"y\"\nz"), "\"x=\\\"y\\\"\\nz\"");
    }

    #[test]
    fn lines_carry_prometheus_keys_in_order() {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::prelude::*;
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(Logfmt)
                .with_writer(move || writer.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(address = "127.0.0.1:1", accounts = 3, "listening now");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let keys: Vec<&str> = text
            .split(' ')
            .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
            .collect();
        assert_eq!(
            keys,
            ["time", "level", "source", "msg", "address", "accounts"],
            "{text}"
        );
        assert!(text.contains(" level=WARN source=logfmt.rs:"), "{text}");
        assert!(
            text.contains("msg=\"listening now\" address=127.0.0.1:1 accounts=3\n"),
            "{text}"
        );
    }
}
