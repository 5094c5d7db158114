package config

import (
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// expandEnv replaces ${NAME} in s with lookup(NAME); "$${" stands for a
// literal "${". A "$" not followed by "{" is kept as it is, so prices and
// regular expressions need no escaping. It returns the names that lookup
// did not know, in order, and an error for a reference it cannot read.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []string, error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	var unset []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", nil, fmt.Errorf(`unterminated "${" (write "$${" for a literal "${")`)
			}
			name := s[i+2 : i+2+end]
			if !isEnvName(name) {
				return "", nil, fmt.Errorf("invalid environment variable name %q in %q", name, s[i:i+3+end])
			}
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				unset = append(unset, name)
			}
			i += 3 + end
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), unset, nil
}

// isEnvName reports whether name is a portable environment variable name.
func isEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// isSlug reports whether s is a name usable in URLs and on the command line:
// [a-z0-9][a-z0-9._-]*.
func isSlug(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// sizeUnits are the multipliers of byte sizes; like most tools that speak of
// buffers, KB means 1024 bytes.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
}

// parseSize reads a byte size such as "512KB", "10MB", "1GB" or "1024".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	digits := 0
	for digits < len(t) && t[digits] >= '0' && t[digits] <= '9' {
		digits++
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[digits:]))]
	if digits == 0 || !ok {
		return 0, fmt.Errorf("invalid size %q (use a whole number of bytes or a size such as 512KB, 10MB, 1GB)", s)
	}
	n, err := strconv.ParseInt(t[:digits], 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * unit, nil
}

// isHeaderName reports whether s is a valid HTTP header field name (an RFC
// 9110 token).
func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// hasControl reports whether s holds a control character, which would let a
// value split an HTTP header.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
}

// sourceURL checks a source URL and resolves a file:// URL against dir.
// file://./x and file://x are relative to dir, file:///x is absolute and
// file://localhost/x is the same as file:///x.
func sourceURL(raw, dir string) (string, error) {
	if len(raw) >= 7 && strings.EqualFold(raw[:7], "file://") {
		return fileURL(raw[7:], dir)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid URL %q: %w", raw, unwrapURLError(err))
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return "", fmt.Errorf("URL %q has no host", raw)
		}
		return raw, nil
	case "":
		return "", fmt.Errorf("URL %q is not absolute (start it with https://, http:// or file://)", raw)
	case "file":
		return "", fmt.Errorf("file URL %q must start with file://", raw)
	default:
		return "", fmt.Errorf("unsupported URL scheme %q in %q (use http, https or file)", u.Scheme, raw)
	}
}

// fileURL resolves the part of a file URL after "file://".
func fileURL(rest, dir string) (string, error) {
	if strings.HasPrefix(strings.ToLower(rest), "localhost/") {
		rest = rest[len("localhost"):]
	}
	if strings.ContainsAny(rest, "?#") {
		return "", fmt.Errorf("file URL %q must not have a query or fragment (write %%3F or %%23 for ? or # in a file name)", "file://"+rest)
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return "", fmt.Errorf("invalid file URL %q: %w", "file://"+rest, err)
	}
	if p == "" || p == "/" {
		return "", fmt.Errorf("file URL %q names no file", "file://"+rest)
	}
	var abs string
	if strings.HasPrefix(p, "/") {
		abs = filepath.Clean(filepath.FromSlash(p))
	} else {
		abs = filepath.Join(dir, filepath.FromSlash(p))
	}
	slashed := filepath.ToSlash(abs)
	if !strings.HasPrefix(slashed, "/") { // a Windows drive letter
		slashed = "/" + slashed
	}
	return (&url.URL{Scheme: "file", Path: slashed}).String(), nil
}

// baseURL checks server.base_url and returns it without a trailing slash.
func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid URL %q: %w", raw, unwrapURLError(err))
	}
	if s := strings.ToLower(u.Scheme); (s != "http" && s != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http:// or https:// URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("%q must not have a query or fragment", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// unwrapURLError drops the *url.Error wrapper, which would repeat the URL.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
