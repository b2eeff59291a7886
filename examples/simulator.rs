//! The vendor simulator as a process of its own, for benchmarks and for trying configurations
//! by hand: `cargo run --release --example simulator -- [ADDR] [EXTRA_WEDRIVE_TENANTS]`.
//!
//! Besides the demo tenants it can create N more WeDrive corps named `bench<i>` (secret
//! `secret-bench<i>`), so a config with thousands of accounts has somewhere to poll.

use std::sync::Arc;

use quota_exporter::simulator::wecom::Tenant;
use quota_exporter::simulator::{SimState, Simulator};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: std::net::SocketAddr = args
        .next()
        .as_deref()
        .unwrap_or("127.0.0.1:18080")
        .parse()
        .expect("ADDR as host:port");
    let extra: usize = args
        .next()
        .as_deref()
        .unwrap_or("0")
        .parse()
        .expect("a number of tenants");
    let state = Arc::new(SimState::default());
    state
        .vendor::<quota_exporter::simulator::wecom::WeComState>()
        .tenants
        .lock()
        .expect("tenants")
        .extend((0..extra).map(|i| Tenant {
            corp_id: format!("bench{i}"),
            secret: format!("secret-bench{i}"),
            is_pro: true,
            vip_total: 100,
            vip_used: (i % 100) as u64,
            pro_expire_time: 2_000_000_000,
            capacity_all: 1 << 40,
            capacity_vip: 1 << 39,
            rest_all: Some(1 << 38),
            rest_vip: None,
            growth_bytes_per_sec: 1000.0,
        }));
    let sim = Simulator::start_with(addr, state).await?;
    println!(
        "simulator listening on {} with {extra} extra WeDrive tenants",
        sim.url()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
