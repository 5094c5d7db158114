// Package websub implements both sides of W3C WebSub
// (https://www.w3.org/TR/websub/): a small hub that pushes Tidings' own
// topic feeds to subscribers, and a subscriber that takes pushes from the
// hubs that sources advertise.
//
// It imports nothing of the project's own: the caller tells the hub which
// topic URLs exist and hands the subscriber a function that ingests a
// delivered feed body, so that pushes and polls share one ingest path.
package websub

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Sentinel errors callers branch on.
var (
	ErrPrivateAddress = errors.New("websub: refusing a private, loopback or link-local address")
	ErrBadSignature   = errors.New("websub: the X-Hub-Signature does not match the body")
)

// sign returns the X-Hub-Signature value for body: sha256=HEX.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// verify checks an X-Hub-Signature header ("method=hex") against body.
// The spec lets hubs use sha1, sha256, sha384 or sha512.
func verify(secret, header string, body []byte) error {
	method, sig, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok {
		return ErrBadSignature
	}
	var h func() hash.Hash
	switch strings.ToLower(method) {
	case "sha1":
		h = sha1.New
	case "sha256":
		h = sha256.New
	case "sha384":
		h = sha512.New384
	case "sha512":
		h = sha512.New
	default:
		return ErrBadSignature
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), want) {
		return ErrBadSignature
	}
	return nil
}

// isPrivate reports whether an address must not be reached when private
// networks are denied: loopback, private, link-local, unspecified.
func isPrivate(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsInterfaceLocalMulticast()
}

// denyPrivateControl is a net.Dialer Control func that refuses private
// addresses at connect time, after DNS and after every redirect, so a
// name that resolves to 127.0.0.1 cannot slip through.
func denyPrivateControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if isPrivate(a) {
		return ErrPrivateAddress
	}
	return nil
}
