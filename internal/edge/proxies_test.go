package edge

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseProxies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "", want: ""},
		{in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{in: "10.1.2.3/8, 192.0.2.7  fd00::/8", want: "10.0.0.0/8,192.0.2.7/32,fd00::/8"},
		{in: "::ffff:10.0.0.0/104", want: "10.0.0.0/8"},
		{in: "::ffff:192.0.2.1", want: "192.0.2.1/32"},
		{in: "2001:db8::1", want: "2001:db8::1/128"},
		{in: "10.0.0.0/33", err: `"10.0.0.0/33" is not a CIDR`},
		{in: "example.com", err: `"example.com" is not an IP address`},
		{in: "fe80::1%eth0", err: `"fe80::1%eth0" is not an IP address`},
		{in: "10.0.0.0/8,,*", err: `"*"`},
	} {
		p, err := ParseProxies(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseProxies(%q) error = %v, want one containing %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || p.String() != tc.want {
			t.Errorf("ParseProxies(%q) = %q, %v; want %q", tc.in, p.String(), err, tc.want)
		}
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	p, err := ParseProxies("10.0.0.0/8, 2001:db8:1::/48")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"untrusted peer: its header is ignored", "192.0.2.1", []string{"198.51.100.7"}, "192.0.2.1"},
		{"trusted peer without header", "10.1.1.1", nil, "10.1.1.1"},
		{"trusted peer", "10.1.1.1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"spoofed entries left of the real client are ignored", "10.1.1.1", []string{"1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies", "10.1.1.1", []string{"203.0.113.9, 10.2.2.2", "10.3.3.3"}, "203.0.113.9"},
		{"every hop trusted: the left-most", "10.1.1.1", []string{"10.9.9.9,10.2.2.2"}, "10.9.9.9"},
		{"garbage ends the walk at the last trusted hop", "10.1.1.1", []string{"203.0.113.9, unknown, 10.2.2.2"}, "10.2.2.2"},
		{"ports are allowed", "10.1.1.1", []string{"203.0.113.9:4711"}, "203.0.113.9"},
		{"bracketed IPv6 with port", "10.1.1.1", []string{"[2001:db8:2::5]:443"}, "2001:db8:2::5"},
		{"IPv6 proxy and client", "2001:db8:1::1", []string{"2001:db8:2::5, 2001:db8:1::2"}, "2001:db8:2::5"},
		{"IPv4-mapped peer", "::ffff:10.1.1.1", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"empty entries are skipped", "10.1.1.1", []string{"198.51.100.7,, ", ""}, "198.51.100.7"},
		{"zones are not addresses", "10.1.1.1", []string{"fe80::1%eth0"}, "10.1.1.1"},
	} {
		got := p.Client(netip.MustParseAddr(tc.peer), tc.xff)
		if got.String() != tc.want {
			t.Errorf("%s: Client(%s, %q) = %s, want %s", tc.name, tc.peer, tc.xff, got, tc.want)
		}
	}
	var none Proxies
	if got := none.Client(netip.MustParseAddr("10.1.1.1"), []string{"198.51.100.7"}); got.String() != "10.1.1.1" {
		t.Errorf("with no trusted proxies the client is %s, want the peer", got)
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1":             "192.0.2.1",
		"::ffff:192.0.2.1":      "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::99": "2001:db8:1:2::/64",
	} {
		if got := Key(netip.MustParseAddr(in)); got != want {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
	if got := Key(netip.Addr{}); got != "unknown" {
		t.Errorf("Key(invalid) = %s", got)
	}
}

func TestPeerAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"192.0.2.1:80": "192.0.2.1", "[2001:db8::1]:443": "2001:db8::1", "192.0.2.2": "192.0.2.2"} {
		got, ok := PeerAddr(in)
		if !ok || got.String() != want {
			t.Errorf("PeerAddr(%q) = %s, %v", in, got, ok)
		}
	}
	if _, ok := PeerAddr("@"); ok {
		t.Error("PeerAddr(@) is an address")
	}
}

// FuzzClient checks the X-Forwarded-For walk for any proxy list, peer and
// header: it never panics, an untrusted peer is always the client, and the
// client is the peer or an address named in the header, and a trusted
// proxy only if the walk found no untrusted address to stop at.
func FuzzClient(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.1.1", "198.51.100.7")
	f.Add("10.0.0.0/8,2001:db8::/32", "2001:db8::1", "[2001:db8:2::5]:443, 2001:db8::9")
	f.Add("", "192.0.2.1", "1.2.3.4")
	f.Add("127.0.0.1", "127.0.0.1", "garbage, 127.0.0.1")
	f.Add("0.0.0.0/0", "127.0.0.1", ",,,")
	f.Fuzz(func(t *testing.T, proxies, peer, xff string) {
		p, err := ParseProxies(proxies)
		if err != nil {
			return
		}
		pa, err := netip.ParseAddr(peer)
		if err != nil {
			return
		}
		got := p.Client(pa, []string{xff})
		if !p.Trusted(pa) && got != pa.Unmap() {
			t.Fatalf("untrusted peer %s: client %s", pa, got)
		}
		if got == pa.Unmap() {
			return
		}
		found := false
		for _, e := range strings.Split(xff, ",") {
			if a, ok := parseForwarded(strings.TrimSpace(e)); ok && a == got {
				found = true
			}
		}
		if !found {
			t.Fatalf("client %s is neither the peer %s nor in %q", got, pa, xff)
		}
		if p.Trusted(got) {
			// Only a malformed entry or a chain too long to walk stops
			// the walk at a trusted hop.
			entries, untrusted, malformed := 0, false, false
			for _, e := range strings.Split(xff, ",") {
				if e = strings.TrimSpace(e); e == "" {
					continue
				}
				entries++
				a, ok := parseForwarded(e)
				malformed = malformed || !ok
				untrusted = untrusted || ok && !p.Trusted(a)
			}
			if untrusted && !malformed && entries <= maxForwardedHops {
				t.Fatalf("client %s is a trusted proxy although %q names an untrusted address", got, xff)
			}
		}
	})
}
