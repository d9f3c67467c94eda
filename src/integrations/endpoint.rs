//! Which endpoints a webhook may reach, checked when the integration is set and again before
//! each attempt (DNS can change). The URL must parse, be `https://` in production (`http://` too
//! in development), carry no credentials, and its host must resolve only to public addresses:
//! loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 with the cloud metadata
//! address, fe80::/10) and CGNAT (100.64/10) are refused unless `INTEGRATIONS_ALLOW_PRIVATE`;
//! unspecified, multicast, broadcast and reserved addresses are always refused. The addresses
//! checked are the ones the attempt connects to (`Checked::addrs`, pinned in the client), so a
//! name that changes its answer between the check and the connection (DNS rebinding) gets nowhere.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use url::{Host, Url};

use crate::config::{AppEnv, Settings};

/// The longest endpoint URL accepted.
pub const MAX_LEN: usize = 2000;
/// The longest a name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// An endpoint that passed the checks, and the addresses it resolved to.
#[derive(Clone, Debug)]
pub struct Checked {
    pub url: Url,
    /// The host name to pin to [`Checked::addrs`]; `None` when the URL holds an IP address.
    pub domain: Option<String>,
    pub addrs: Vec<SocketAddr>,
}

/// Parses and checks `raw` against the settings; the error says why, in words for the caller.
pub async fn check(raw: &str, settings: &Settings) -> Result<Checked, String> {
    let url = parse(raw, settings.app_env)?;
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let allow_private = settings.integrations.allow_private;
    let (domain, addrs) = match url.host() {
        Some(Host::Ipv4(ip)) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(Host::Ipv6(ip)) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Some(Host::Domain(name)) => {
            let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port)));
            let addrs: Vec<SocketAddr> = match lookup.await {
                Ok(Ok(found)) => found.collect(),
                Ok(Err(_)) => return Err(format!("the host `{name}` does not resolve")),
                Err(_) => return Err(format!("the host `{name}` took too long to resolve")),
            };
            if addrs.is_empty() {
                return Err(format!("the host `{name}` does not resolve"));
            }
            (Some(name.to_string()), addrs)
        }
        None => return Err("the URL has no host".into()),
    };
    for addr in &addrs {
        if let Some(reason) = refused(addr.ip(), allow_private) {
            return Err(match &domain {
                Some(name) => format!("the host `{name}` resolves to {} ({reason}), which webhooks may not reach", addr.ip()),
                None => format!("{} is {reason}, which webhooks may not reach", addr.ip()),
            });
        }
    }
    Ok(Checked { url, domain, addrs })
}

/// The URL's shape alone (no resolution).
pub fn parse(raw: &str, app_env: AppEnv) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("give the endpoint's URL".into());
    }
    if raw.len() > MAX_LEN {
        return Err(format!("at most {MAX_LEN} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("not a valid URL ({e})"))?;
    match (url.scheme(), app_env) {
        ("https", _) | ("http", AppEnv::Development) => {}
        ("http", AppEnv::Production) => return Err("must be an https:// URL".into()),
        _ => return Err("must be an http(s) URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password; the signature authenticates deliveries".into());
    }
    if url.host().is_none() {
        return Err("the URL has no host".into());
    }
    if url.fragment().is_some() {
        return Err("must not hold a #fragment".into());
    }
    Ok(url)
}

/// The endpoint as shown to those who may not see all of it: no query string.
pub fn without_query(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(mut url) => {
            if url.query().is_some() {
                url.set_query(Some("…"));
            }
            url.to_string()
        }
        Err(_) => String::new(),
    }
}

/// Why a webhook may not reach `ip`, or `None` when it may.
pub fn refused(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    // An IPv4 address carried in IPv6 — mapped (::ffff:a.b.c.d), compatible (::a.b.c.d) or 6to4
    // (2002:aabb:ccdd::/48) — is judged as that IPv4 address.
    let ip = match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    if let Some(reason) = always_refused(ip) {
        return Some(reason);
    }
    if allow_private {
        return None;
    }
    private(ip)
}

/// The IPv4 address an IPv6 address carries, for the forms that route to it.
fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        // IPv4-compatible (deprecated): ::a.b.c.d, but not :: nor ::1.
        return Some(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

fn always_refused(ip: IpAddr) -> Option<&'static str> {
    let nets: &[(&str, &str)] = &[
        ("0.0.0.0/8", "an unspecified address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("ff00::/8", "a multicast address"),
    ];
    if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
        return Some("the broadcast address");
    }
    nets.iter().find(|(net, _)| net.parse::<IpNet>().is_ok_and(|n| n.contains(&ip))).map(|(_, why)| *why)
}

fn private(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let nets: [(Ipv4Net, &str); 9] = [
                (net4(127, 0, 0, 0, 8), "a loopback address"),
                (net4(10, 0, 0, 0, 8), "a private address"),
                (net4(172, 16, 0, 0, 12), "a private address"),
                (net4(192, 168, 0, 0, 16), "a private address"),
                (net4(169, 254, 0, 0, 16), "a link-local address"),
                (net4(100, 64, 0, 0, 10), "a shared (CGNAT) address"),
                (net4(192, 0, 0, 0, 24), "a reserved address"),
                (net4(198, 18, 0, 0, 15), "a benchmarking address"),
                (net4(192, 0, 2, 0, 24), "a documentation address"),
            ];
            nets.iter().find(|(net, _)| net.contains(&v4)).map(|(_, why)| *why)
        }
        IpAddr::V6(v6) => {
            if v6 == Ipv6Addr::LOCALHOST {
                return Some("a loopback address");
            }
            let nets: [(&str, &str); 7] = [
                ("fc00::/7", "a private (unique local) address"),
                ("fe80::/10", "a link-local address"),
                ("fec0::/10", "a site-local address"),
                ("64:ff9b::/96", "a NAT64 address"),
                ("64:ff9b:1::/48", "a NAT64 address"),
                // Teredo hides the IPv4 address it reaches: it cannot be checked.
                ("2001::/32", "a Teredo tunnel address"),
                ("2001:db8::/32", "a documentation address"),
            ];
            nets.iter().find(|(net, _)| net.parse::<Ipv6Net>().is_ok_and(|n| n.contains(&v6))).map(|(_, why)| *why)
        }
    }
}

fn net4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::new(a, b, c, d), prefix).expect("a valid prefix")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_refused_and_public_ones_pass() {
        for text in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "::1", "fd00::1",
            "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "::10.0.0.1", "2002:7f00:1::1", "2002:a9fe:a9fe::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", "64:ff9b:1::a00:1",
        ] {
            assert!(refused(ip(text), false).is_some(), "{text}");
            assert!(refused(ip(text), true).is_none(), "{text} with INTEGRATIONS_ALLOW_PRIVATE");
        }
        for text in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "::", "ff02::1", "240.0.0.1"] {
            assert!(refused(ip(text), true).is_some(), "{text} is refused even with INTEGRATIONS_ALLOW_PRIVATE");
        }
        for text in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1", "100.128.0.1", "2002:5db8:d822::1", "::ffff:8.8.8.8"] {
            assert!(refused(ip(text), false).is_none(), "{text}");
        }
    }

    #[test]
    fn urls_must_be_http_in_development_and_https_in_production_without_credentials() {
        assert!(parse("http://insurer.example/hook", AppEnv::Development).is_ok());
        assert!(parse("http://insurer.example/hook", AppEnv::Production).is_err());
        assert!(parse("https://insurer.example/hook", AppEnv::Production).is_ok());
        for bad in ["", "insurer.example/hook", "ftp://insurer.example/", "https://user:pw@insurer.example/", "https://insurer.example/#x"] {
            assert!(parse(bad, AppEnv::Development).is_err(), "{bad}");
        }
    }
}
