//! A free loopback port for a process the test starts. Taken from below the kernel's ephemeral
//! range: a port found by binding port 0 and closing it is an ephemeral one, which the kernel may
//! hand to the next socket that binds port 0 (the demo's own simulator, say) before the process
//! under test binds it.

use std::net::TcpListener;

pub fn free_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let start = 10_000u16.min(low.saturating_sub(1));
    let span = u32::from(low - start).max(1);
    let seed = std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
    for i in 0..span {
        let port = start + ((seed.wrapping_add(i.wrapping_mul(7919))) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
