//! The names other machines reach this one by: its host name and the addresses of its
//! interfaces, as OXID bindings name them (clients pick the first they can use; impacket
//! the first whose host contains the name it was given).

use std::net::IpAddr;

/// Every IPv4 address of the machine's interfaces that are up, then the host name, then
/// the loopback addresses: clients that take the first binding they can use reach the
/// machine by address, since a host name may mean another machine where they are (and
/// loopback always does). `only` (the service's `--address` options), when not empty,
/// replaces the addresses.
pub fn machine_names(only: &[IpAddr]) -> Vec<String> {
    let mut addrs = if only.is_empty() {
        interface_addresses()
    } else {
        only.to_vec()
    };
    addrs.retain(|a| !a.is_unspecified());
    addrs.dedup();
    let (loopback, outside): (Vec<IpAddr>, Vec<IpAddr>) =
        addrs.into_iter().partition(|a| a.is_loopback());
    let mut names: Vec<String> = outside.iter().map(|a| a.to_string()).collect();
    names.push(hostname());
    names.extend(loopback.iter().map(|a| a.to_string()));
    names.dedup();
    names
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The IPv4 addresses of the interfaces that are up (getifaddrs).
fn interface_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `list` on success, freed below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return out;
    }
    let mut at = list;
    while !at.is_null() {
        // SAFETY: `at` is a node of the list getifaddrs made, alive until freeifaddrs.
        let node = unsafe { &*at };
        let up = node.ifa_flags & (libc::IFF_UP as u32) != 0;
        if up && !node.ifa_addr.is_null() {
            // SAFETY: a non-NULL ifa_addr points at a sockaddr whose family says its type.
            let family = i32::from(unsafe { (*node.ifa_addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: an AF_INET address is a sockaddr_in.
                let sin = unsafe { &*node.ifa_addr.cast::<libc::sockaddr_in>() };
                out.push(IpAddr::V4(std::net::Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))));
            }
        }
        at = node.ifa_next;
    }
    // SAFETY: the list getifaddrs made, freed once.
    unsafe { libc::freeifaddrs(list) };
    out
}
