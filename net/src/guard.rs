//! The private-address guard: which IP addresses onair may fetch from, and a DNS resolver that
//! applies it at connection time.
//!
//! Checking at connection time (a custom resolver) rather than before the request means a name
//! cannot resolve to a public address when checked and to a private one when used. IP literals
//! never reach a resolver, so [`Guard::check_literal`] checks them before every request and
//! every redirect hop.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Why `ip` may not be fetched from, or `None` for a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved")
    } else if (a, b, c) == (192, 0, 0) || (a == 198 && (b == 18 || b == 19)) {
        Some("special-purpose")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96)
    // and 6to4 (2002:AABB:CCDD::/48) reach the IPv4 address they carry.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4).map(|_| "IPv4-mapped private");
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] {
        return forbidden_v4(embedded_v4(segments[6], segments[7]))
            .map(|_| "IPv4-compatible private");
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded_v4(segments[6], segments[7])).map(|_| "NAT64 private");
    }
    if segments[0] == 0x2002 {
        return forbidden_v4(embedded_v4(segments[1], segments[2])).map(|_| "6to4 private");
    }
    match segments[0] {
        s if s & 0xfe00 == 0xfc00 => Some("unique-local"),
        s if s & 0xffc0 == 0xfe80 => Some("link-local"),
        s if s & 0xffc0 == 0xfec0 => Some("site-local"),
        s if s & 0xff00 == 0xff00 => Some("multicast"),
        _ => None,
    }
}

/// The IPv4 address carried by two 16-bit IPv6 segments.
fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// A host that is, or resolved to, an address the guard refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenAddress {
    /// The host as the URL names it (a name or an IP literal).
    pub host: String,
    pub ip: IpAddr,
    /// What kind of address it is: `loopback`, `private`, `link-local`, …
    pub reason: &'static str,
}

impl fmt::Display for ForbiddenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host == self.ip.to_string() {
            write!(f, "{} is a {} address", self.host, self.reason)
        } else {
            write!(
                f,
                "{} resolves to {}, a {} address",
                self.host, self.ip, self.reason
            )
        }
    }
}

impl StdError for ForbiddenAddress {}

/// Which addresses a request may reach: every public one, and the listed exceptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    /// Addresses let through despite being private: for tests that serve from loopback and
    /// still want the guard on for everything else.
    exceptions: Vec<IpAddr>,
}

impl Guard {
    /// The guard that refuses every private address.
    pub fn strict() -> Guard {
        Guard::default()
    }

    /// A guard that lets exactly these private addresses through.
    pub fn except(exceptions: Vec<IpAddr>) -> Guard {
        Guard { exceptions }
    }

    /// Refuses `ip` (which `host` named or resolved to) unless it is public or excepted.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), ForbiddenAddress> {
        if self.exceptions.contains(&ip) {
            return Ok(());
        }
        match forbidden_reason(ip) {
            Some(reason) => Err(ForbiddenAddress {
                host: host.to_owned(),
                ip,
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Refuses `url` when its host is an IP literal the guard forbids. Names pass: they are
    /// checked when they are resolved.
    pub fn check_literal(&self, url: &reqwest::Url) -> Result<(), ForbiddenAddress> {
        let Some(host) = url.host_str() else {
            return Ok(());
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) => self.check(bare, ip),
            Err(_) => Ok(()),
        }
    }
}

/// Resolves with the system resolver, then refuses the whole name if any address is forbidden
/// (an attacker's name may list a public address first and a private one second).
#[derive(Debug, Clone)]
pub struct GuardedResolver(Arc<Guard>);

impl GuardedResolver {
    pub fn new(guard: Arc<Guard>) -> GuardedResolver {
        GuardedResolver(guard)
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                guard.check(&host, addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(ip: &str) -> Option<&'static str> {
        forbidden_reason(ip.parse().unwrap())
    }

    #[test]
    fn private_ipv4_ranges_are_forbidden() {
        for (ip, expected) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.254", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("192.0.0.8", "special-purpose"),
            ("198.18.0.1", "special-purpose"),
        ] {
            assert_eq!(reason(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(reason(ip), None, "{ip}");
        }
    }

    #[test]
    fn private_ipv6_ranges_are_forbidden() {
        for (ip, expected) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "IPv4-mapped private"),
            ("::ffff:10.0.0.1", "IPv4-mapped private"),
            ("::127.0.0.1", "IPv4-compatible private"),
            ("64:ff9b::a9fe:a9fe", "NAT64 private"),
            ("2002:c0a8:0101::1", "6to4 private"),
        ] {
            assert_eq!(reason(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn an_excepted_address_passes_and_its_neighbours_do_not() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let guard = Guard::except(vec![loopback]);
        assert_eq!(guard.check("127.0.0.1", loopback), Ok(()));
        let refused = guard
            .check("127.0.0.2", "127.0.0.2".parse().unwrap())
            .unwrap_err();
        assert_eq!(refused.to_string(), "127.0.0.2 is a loopback address");
        let by_name = Guard::strict().check("localhost", loopback).unwrap_err();
        assert_eq!(
            by_name.to_string(),
            "localhost resolves to 127.0.0.1, a loopback address"
        );
    }

    #[test]
    fn literal_hosts_are_checked_and_names_left_to_the_resolver() {
        let guard = Guard::strict();
        let url = |text: &str| reqwest::Url::parse(text).unwrap();
        for literal in [
            "http://127.0.0.1/a",
            "http://[::1]:8080/a",
            "https://10.0.0.8/a",
            "http://[::ffff:192.168.0.1]/x",
            "http://0.0.0.0:80/",
        ] {
            assert!(guard.check_literal(&url(literal)).is_err(), "{literal}");
        }
        assert_eq!(guard.check_literal(&url("http://localhost/a")), Ok(()));
        assert_eq!(guard.check_literal(&url("https://8.8.8.8/a")), Ok(()));
    }
}
