//! Embeds the source revision and the build date, for `--version` and
//! `quota_exporter_build_info`.
//!
//! - Revision: `QUOTA_EXPORTER_REVISION` when set (the Dockerfile passes it, as its build
//!   context has no `.git`), else `git rev-parse HEAD`, else `unknown`.
//! - Build date (RFC 3339, UTC): from `SOURCE_DATE_EPOCH` when set, for reproducible builds,
//!   else the moment this script ran. It reruns when the revision changes, not on every edit.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-env-changed=QUOTA_EXPORTER_REVISION");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let revision = std::env::var("QUOTA_EXPORTER_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_owned());
    println!(
        "cargo:rustc-env=QUOTA_EXPORTER_REVISION={}",
        revision.trim()
    );

    let built = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => match epoch.trim().parse::<u64>() {
            Ok(secs) => UNIX_EPOCH + Duration::from_secs(secs),
            Err(_) => panic!("SOURCE_DATE_EPOCH must be unix seconds, got {epoch:?}"),
        },
        Err(_) => SystemTime::now(),
    };
    println!(
        "cargo:rustc-env=QUOTA_EXPORTER_BUILD_DATE={}",
        humantime::format_rfc3339_seconds(built)
    );
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// HEAD's commit, and the files whose change moves it: HEAD, the branch it names, packed refs.
fn git_revision() -> Option<String> {
    let revision = git(&["rev-parse", "HEAD"])?;
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    for name in ["HEAD", "packed-refs"].into_iter().chain(branch.as_deref()) {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
            // A path that does not exist would make Cargo rerun this on every build.
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some(revision)
}
