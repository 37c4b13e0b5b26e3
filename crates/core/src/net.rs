//! Client addresses and address ranges: the address Cloudflare reports,
//! the key a client is counted under (an IPv4 address or an IPv6 prefix),
//! and the IP/CIDR syntax of ban targets, never-ban lists and deny lists.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses the client address Cloudflare puts in `CF-Connecting-IP`.
pub fn parse_client_ip(header: &str) -> Option<IpAddr> {
    header.trim().parse().ok()
}

/// The key a client's warnings and bans are counted under: the IPv4
/// address, or the IPv6 prefix of `ipv6_prefix` bits (an IPv6 user
/// controls a whole /64).
pub fn client_key(ip: IpAddr, ipv6_prefix: u8) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = ipv6_prefix.min(128);
                let net = ipnet::Ipv6Net::new(v6, prefix)
                    .map(|n| n.trunc())
                    .unwrap_or_else(|_| ipnet::Ipv6Net::from(v6));
                if prefix == 128 {
                    v6.to_string()
                } else {
                    net.to_string()
                }
            }
        },
    }
}

/// Parses an IP or CIDR (a bare address is a /32 or /128).
pub(crate) fn parse_net(value: &str) -> Option<IpNet> {
    let value = value.trim();
    let net = value
        .parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .ok()?;
    // Clients are matched as IPv4 when they come as IPv4-mapped IPv6, so
    // mapped ranges are turned into the IPv4 ranges they mean.
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
    {
        return ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
            .ok()
            .map(IpNet::V4);
    }
    Some(net)
}

/// The canonical spelling of a ban target, the same as [`client_key`] gives
/// for a single client: a bare address for a /32 or /128, else the CIDR
/// with its host bits cleared.
pub fn canonical_target(value: &str) -> Option<String> {
    let net = parse_net(value)?;
    Some(if net.prefix_len() == net.max_prefix_len() {
        normalise(net.addr()).to_string()
    } else {
        net.to_string()
    })
}

pub(crate) fn normalise(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `net` is wider than `widest` allows (the shortest IPv4 and IPv6
/// prefix lengths): a catch-all such as `0.0.0.0/0` bans or exempts everyone.
pub(crate) fn too_wide(net: &IpNet, widest: (u8, u8)) -> bool {
    match net {
        IpNet::V4(v4) => v4.prefix_len() < widest.0,
        IpNet::V6(v6) => v6.prefix_len() < widest.1,
    }
}
