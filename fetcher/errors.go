package fetcher

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors that callers branch on with errors.Is. Every error that
// Poll returns wraps one of them (or the context's error when the caller's
// context ends), while its message is written for the user who reads
// SourceState.LastError, e.g. "HTTP 500 Internal Server Error".
var (
	// ErrTooLarge means the body, after decompression, exceeded Options.MaxBody.
	ErrTooLarge = errors.New("fetcher: response too large")
	// ErrNotAFeed means the body is no RSS, Atom or JSON Feed: an HTML page,
	// an empty response or something else; see NotAFeedError for details.
	ErrNotAFeed = errors.New("fetcher: not a feed")
	// ErrStatus means the server answered with a status other than 2xx or
	// 304; see StatusError for the code and any Retry-After.
	ErrStatus = errors.New("fetcher: unexpected HTTP status")
	// ErrParse means the body looked like a feed but could not be parsed.
	ErrParse = errors.New("fetcher: cannot parse feed")
	// ErrTimeout means Options.Timeout passed before the body was read.
	ErrTimeout = errors.New("fetcher: timed out")
	// ErrRedirect means the redirects could not be followed: a loop, more
	// than five hops, a missing Location or a target that is not HTTP(S).
	ErrRedirect = errors.New("fetcher: bad redirect")
	// ErrRequest means the request failed below HTTP (DNS, connection, TLS)
	// or the body could not be read or decoded.
	ErrRequest = errors.New("fetcher: request failed")
	// ErrURL means the source URL is not an http, https or file URL Tidings
	// can poll.
	ErrURL = errors.New("fetcher: unsupported feed URL")
	// ErrDenied means the feed's address is in a private, loopback or
	// link-local range while Options.DenyPrivateNetworks is set.
	ErrDenied = errors.New("fetcher: address denied")
)

// StatusError is the error for a response whose status is neither 2xx nor
// 304. errors.Is(err, ErrStatus) holds for it.
type StatusError struct {
	Code       int       // the HTTP status code
	RetryAfter time.Time // from Retry-After on a 429 or 503; zero if absent
	Challenge  bool      // a bot-protection challenge page (cf-mitigated: challenge)
}

// Error returns "HTTP 500 Internal Server Error", plus a hint for the codes
// where the user has something to fix.
func (e *StatusError) Error() string {
	text := http.StatusText(e.Code)
	if text == "" {
		text = "status"
	}
	msg := fmt.Sprintf("HTTP %d %s", e.Code, text)
	if e.Challenge {
		return msg + ": the site answered with a bot-protection challenge page that feed readers cannot pass; " +
			"ask the publisher to exempt its feed, or find another feed URL"
	}
	switch e.Code {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += ": check the source's headers or credentials"
	case http.StatusNotFound:
		msg += ": check the feed URL"
	case http.StatusGone:
		msg += ": the feed was removed; delete the source"
	}
	return msg
}

// Is reports whether target is ErrStatus.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }

// NotAFeedError is the error for a body that is no feed. errors.Is(err,
// ErrNotAFeed) holds for it.
type NotAFeedError struct {
	ContentType string   // as the server sent it, or sniffed for files
	HTML        bool     // the body is an HTML page
	Empty       bool     // the body is empty
	Alternates  []string // absolute feed URLs the HTML page links to with rel="alternate"
}

// Error says what came instead of a feed, and which feeds an HTML page
// advertises, since one of them is usually the URL the user meant.
func (e *NotAFeedError) Error() string {
	var b strings.Builder
	b.WriteString("not a feed: ")
	switch {
	case e.Empty:
		b.WriteString("the response is empty")
	case e.HTML:
		b.WriteString("got an HTML page")
		if ct := mediaType(e.ContentType); ct != "" {
			b.WriteString(" (" + ct + ")")
		}
		if len(e.Alternates) > 0 {
			b.WriteString("; it links to these feeds: ")
			b.WriteString(strings.Join(e.Alternates, ", "))
		}
	default:
		b.WriteString("the response is not RSS, Atom or JSON Feed")
		if ct := mediaType(e.ContentType); ct != "" {
			b.WriteString(" (" + ct + ")")
		}
	}
	return b.String()
}

// Is reports whether target is ErrNotAFeed.
func (e *NotAFeedError) Is(target error) bool { return target == ErrNotAFeed }

// pollError carries a message meant for users while still matching the
// package's sentinel and the underlying cause with errors.Is and errors.As.
type pollError struct {
	msg   string
	kind  error // a sentinel of this package
	cause error // may be nil
}

func (e *pollError) Error() string { return e.msg }

func (e *pollError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func newError(kind, cause error, format string, args ...any) error {
	return &pollError{msg: fmt.Sprintf(format, args...), kind: kind, cause: cause}
}

// mediaType returns the media type of a Content-Type value, without
// parameters, in lower case.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// formatSize writes a byte count the way a user configured it.
func formatSize(n int64) string {
	const kib, mib = 1 << 10, 1 << 20
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%d MB", n/1e6)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%d KB", n/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}
