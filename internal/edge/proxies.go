package edge

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Proxies is the set of networks whose X-Forwarded-For header is trusted
// (`--trusted-proxies`). The zero value trusts nobody: the peer address
// is then always the client. Proxies is safe for concurrent use.
type Proxies struct {
	nets []netip.Prefix
}

// ParseProxies reads a list of CIDRs or single addresses separated by
// commas or spaces, such as "10.0.0.0/8, 192.0.2.7, fd00::/8". An empty
// list trusts nobody.
func ParseProxies(s string) (Proxies, error) {
	var p Proxies
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		pre, err := parsePrefix(f)
		if err != nil {
			return Proxies{}, err
		}
		p.nets = append(p.nets, pre)
	}
	return p, nil
}

func parsePrefix(f string) (netip.Prefix, error) {
	if strings.Contains(f, "/") {
		pre, err := netip.ParsePrefix(f)
		if err != nil || pre.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("trusted proxies: %q is not a CIDR such as 10.0.0.0/8 or fd00::/8", f)
		}
		if pre.Addr().Is4In6() && pre.Bits() >= 96 {
			pre = netip.PrefixFrom(pre.Addr().Unmap(), pre.Bits()-96)
		}
		return pre.Masked(), nil
	}
	a, err := netip.ParseAddr(f)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("trusted proxies: %q is not an IP address or a CIDR such as 10.0.0.0/8", f)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// String lists the trusted networks, comma separated.
func (p Proxies) String() string {
	parts := make([]string, len(p.nets))
	for i, n := range p.nets {
		parts[i] = n.String()
	}
	return strings.Join(parts, ",")
}

// Trusted reports whether a is a trusted proxy.
func (p Proxies) Trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// maxForwardedHops bounds the X-Forwarded-For entries examined; no real
// chain of proxies is that long.
const maxForwardedHops = 64

// Client returns the address a request's per-client limits key on: the
// peer, or, when the peer is a trusted proxy, the right-most address of
// X-Forwarded-For (all values of the header, in order) that is not a
// trusted proxy. Each trusted proxy appends the address it received the
// request from, so entries left of the first untrusted one may have been
// written by the client and are ignored. If every entry is trusted, the
// left-most is the client; an entry that is not an address ends the walk
// at the last trusted hop, which is then the client.
func (p Proxies) Client(peer netip.Addr, xff []string) netip.Addr {
	peer = peer.Unmap()
	if len(p.nets) == 0 || !p.Trusted(peer) {
		return peer
	}
	last := peer
	hops := 0
	for i := len(xff) - 1; i >= 0; i-- {
		entries := strings.Split(xff[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			e := strings.TrimSpace(entries[j])
			if e == "" {
				continue
			}
			if hops++; hops > maxForwardedHops {
				return last
			}
			a, ok := parseForwarded(e)
			if !ok {
				return last
			}
			if !p.Trusted(a) {
				return a
			}
			last = a
		}
	}
	return last
}

// parseForwarded reads one X-Forwarded-For entry: an address, possibly
// with a port ("192.0.2.1:4711", "[2001:db8::1]:443").
func parseForwarded(e string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(e); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(e); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// PeerAddr returns the IP of a peer given as a net.Addr or as an
// http.Request RemoteAddr ("ip:port"); ok is false for anything else
// (such as a Unix socket).
func PeerAddr(addr any) (netip.Addr, bool) {
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), ok
	case string:
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			ip, err := netip.ParseAddr(a)
			return ip.Unmap(), err == nil
		}
		return ap.Addr().Unmap(), true
	case net.Addr:
		return PeerAddr(a.String())
	}
	return netip.Addr{}, false
}

// Key is the per-client limit key of an address: an IPv4 address itself,
// an IPv6 address by its /64 (one subscriber commonly holds a whole /64,
// so keying on single IPv6 addresses would let one client be millions).
func Key(a netip.Addr) string {
	a = a.Unmap()
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
