//! Where a webhook may go: `https` (or `http` outside production) URLs whose host resolves to
//! public addresses only, unless private targets are allowed (tests, closed networks). The
//! address checked is the address connected to (resolved once, then pinned), so a DNS answer
//! that changes between check and connect cannot point the request inside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

use crate::config::{Environment, Settings};
use crate::error::{AppError, AppResult};

/// Checks a URL given by a client; `field` names it in the error.
pub fn parse_url(settings: &Settings, url: &str, field: &str) -> AppResult<Url> {
    let bad = |message: &str| AppError::bad_input(field, message);
    let parsed = Url::parse(url.trim()).map_err(|_| bad("not a valid URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if settings.env != Environment::Production => {}
        "http" => return Err(bad("must be https")),
        _ => return Err(bad("must be an http(s) URL")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("needs a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if !settings.webhooks_allow_private
        && let Some(ip) = literal_ip(&parsed)
        && is_forbidden(ip)
    {
        return Err(bad(
            "points at a private, loopback, link-local or metadata address",
        ));
    }
    Ok(parsed)
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    url.host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The address to connect to for `url`: its host resolved, refused when any answer is private
/// (unless allowed).
pub async fn resolve(settings: &Settings, url: &Url) -> Result<(String, SocketAddr), String> {
    let host = url.host_str().ok_or("no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("no port")?;
    let lookup = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((lookup.as_str(), port))
        .await
        .map_err(|_| "the host did not resolve".to_owned())?
        .collect();
    let first = *addrs.first().ok_or("the host did not resolve")?;
    if !settings.webhooks_allow_private && addrs.iter().any(|a| is_forbidden(a.ip())) {
        return Err(
            "refused: the host resolves to a private, loopback, link-local or metadata \
                    address"
                .into(),
        );
    }
    Ok((host, first))
}

/// Loopback, private, link-local (cloud metadata lives there), carrier-grade NAT,
/// unspecified, broadcast and multicast addresses.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_forbidden_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_forbidden_v4(v4);
            }
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local, incl. fd00:ec2::254 (AWS metadata)
                || (first & 0xffc0) == 0xfe80 // link-local
                || ip == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0xa9fe, 0xa9fe)
        }
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, incl. 169.254.169.254
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_metadata_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }
}
