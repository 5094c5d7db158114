package fetcher

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
)

// ErrorKind names the kind of a Poll error in one word, for status pages
// and alerts: timeout, dns, tls, connect, request, status, challenge,
// too_large, not_a_feed, parse, redirect, denied or url; "" for nil,
// "error" for an error not from Poll.
func ErrorKind(err error) string {
	if err == nil {
		return ""
	}
	if se, ok := errors.AsType[*StatusError](err); ok {
		if se.Challenge {
			return "challenge"
		}
		return "status"
	}
	kinds := []struct {
		err  error
		kind string
	}{
		{ErrDenied, "denied"}, {ErrTimeout, "timeout"}, {ErrTooLarge, "too_large"},
		{ErrNotAFeed, "not_a_feed"}, {ErrParse, "parse"}, {ErrRedirect, "redirect"}, {ErrURL, "url"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	if errors.Is(err, ErrRequest) {
		switch {
		case isDNSError(err):
			return "dns"
		case isTLSError(err):
			return "tls"
		}
		if _, ok := errors.AsType[*net.OpError](err); ok {
			return "connect"
		}
		return "request" // the body could not be read or decoded, a file could not be opened
	}
	return "error"
}

func isDNSError(err error) bool {
	_, ok := errors.AsType[*net.DNSError](err)
	return ok
}

func isTLSError(err error) bool {
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return true
	}
	return strings.Contains(err.Error(), "tls: ")
}

// requestError explains a request that failed below HTTP in words that
// point at the cause.
func requestError(err error) error {
	inner := unwrapURLError(err)
	if de, ok := errors.AsType[*deniedError](err); ok {
		return newError(ErrDenied, err, "refused to connect to %s: it is a %s address and fetch.deny_private_networks is on", de.addr, de.why)
	}
	if dns, ok := errors.AsType[*net.DNSError](err); ok {
		what := dns.Err
		if dns.IsNotFound {
			what = "no such host"
		}
		return newError(ErrRequest, err, "DNS lookup of %s failed: %s (check the host name in the feed URL)", dns.Name, what)
	}
	if isTLSError(err) {
		return newError(ErrRequest, err, "TLS error: %v (the site's certificate is not valid for it, expired or not trusted)", inner)
	}
	return newError(ErrRequest, err, "request failed: %v", inner)
}

// isChallenge reports a bot-protection interstitial instead of content.
func isChallenge(h http.Header) bool {
	return strings.EqualFold(strings.TrimSpace(h.Get("cf-mitigated")), "challenge")
}

// deniedError is what denyPrivate returns from the dialer.
type deniedError struct {
	addr string
	why  string
}

func (e *deniedError) Error() string {
	return fmt.Sprintf("connection to %s (a %s address) denied", e.addr, e.why)
}

// denyPrivate is a net.Dialer Control function: it runs on the resolved
// address of every connection, after DNS and for every redirect hop, so
// neither a name pointing inward nor a redirect gets past it.
func denyPrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &deniedError{addr: address, why: "unparseable"}
	}
	if why := privateKind(ap.Addr()); why != "" {
		return &deniedError{addr: address, why: why}
	}
	return nil
}

var (
	sharedRange = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT
	nat64Range  = netip.MustParsePrefix("64:ff9b::/96")
)

// privateKind says why a is not a public address, or "" if it is.
func privateKind(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate(), sharedRange.Contains(a):
		return "private"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case nat64Range.Contains(a):
		return privateKind(netip.AddrFrom4([4]byte(a.AsSlice()[12:16])))
	}
	return ""
}
