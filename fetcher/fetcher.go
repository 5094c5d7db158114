// Package fetcher turns a configured source into normalized items: it reads
// an http(s):// or file:// URL with good polling manners (conditional GET,
// gzip, size and time limits, redirects, per-host limits), parses the bytes
// with gofeed and returns []tidings.Item together with the source's new
// polling state.
//
// It knows nothing of storage or publishing; the caller passes plain values
// in and stores what comes out.
package fetcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/tidings/tidings"
)

// Defaults for the zero values of Options.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxBody     = 10 << 20
	DefaultConcurrency = 16
	DefaultPerHost     = 2
	DefaultInterval    = 15 * time.Minute
)

// DefaultUserAgent is sent when Options.UserAgent is empty.
var DefaultUserAgent = "Tidings/" + tidings.Version

const (
	maxRedirects = 5
	maxBackoff   = 24 * time.Hour
	// maxRetryAfter bounds a server's Retry-After, so that a bogus value
	// (a year) cannot silence a feed for longer than a week.
	maxRetryAfter = 7 * 24 * time.Hour
	// futureSlack is how far in the future a published date may lie before
	// it is taken for a wrong clock or a scheduled post and replaced by now.
	futureSlack = 10 * time.Minute
)

// Options configure a Fetcher. Zero values take the documented defaults.
type Options struct {
	// Timeout bounds one poll's whole request, redirects and body included,
	// so a server that drips its body cannot hold a slot. Default 30s.
	Timeout time.Duration
	// MaxBody is the largest body accepted, counted after decompression so
	// that a small gzip bomb is refused too. Default 10 MiB.
	MaxBody int64
	// UserAgent is sent with every request. Default DefaultUserAgent.
	UserAgent string
	// Concurrency is how many feeds are fetched at once across all Poll
	// calls; more finishes a round sooner but uses more memory. Default 16.
	Concurrency int
	// PerHost is how many requests go to one host at once, to stay polite
	// to sites that carry many configured feeds. Default 2.
	PerHost int
	// Interval is the poll interval of sources whose own Interval is zero.
	// Default 15m.
	Interval time.Duration
	// Client sends the requests. Default: a client with its own Transport
	// and connection timeouts. Its CheckRedirect is replaced, since Poll
	// follows redirects itself to apply its hop limit and loop detection and
	// to notice permanent moves; its Timeout should be zero (Timeout above
	// applies).
	Client *http.Client
	// Now is the clock for state times and item dates; default time.Now.
	Now func() time.Time
	// DenyPrivateNetworks refuses to connect to loopback, private,
	// link-local and other non-public addresses. It is checked on the
	// address actually dialled, so it holds after DNS and after redirects;
	// proxies from the environment are then not used, since they would
	// resolve names out of its sight. It applies only to the default
	// Client. Off by default: sources come from the operator.
	DenyPrivateNetworks bool
}

// Fetcher polls sources. It is safe for concurrent use; the limits of its
// Options hold across all concurrent Poll calls.
type Fetcher struct {
	opts   Options
	client *http.Client
	lim    *limiter
	parser *gofeed.Parser
}

// New returns a Fetcher with opts, zero fields replaced by their defaults.
func New(opts Options) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if strings.TrimSpace(opts.UserAgent) == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.PerHost <= 0 {
		opts.PerHost = DefaultPerHost
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	var client http.Client
	if opts.Client != nil {
		client = *opts.Client // a shallow copy shares the Transport, as intended
	} else {
		client.Transport = newTransport(opts)
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	p := gofeed.NewParser()
	// The first-<img> scan parses every item's HTML again; Tidings does not
	// need an image guessed from the content (STYLE §11).
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	// The original JSON Feed tells content_text from content_html, which the
	// universal item merges; it is dropped with the parse result.
	p.KeepOriginalFeed = true

	return &Fetcher{
		opts:   opts,
		client: &client,
		lim:    newLimiter(opts.Concurrency, opts.PerHost),
		parser: p,
	}
}

func newTransport(opts Options) *http.Transport {
	dialer := &net.Dialer{
		Timeout:   15 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	proxy := http.ProxyFromEnvironment
	if opts.DenyPrivateNetworks {
		dialer.Control = denyPrivate
		proxy = nil
	}
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   opts.PerHost,
		// Bodies are decompressed by readBody, so that MaxBody counts the
		// decompressed bytes.
		DisableCompression: true,
	}
}

// Close releases idle connections. The Fetcher stays usable.
func (f *Fetcher) Close() {
	f.client.CloseIdleConnections()
}

// Result is the outcome of one poll.
type Result struct {
	// State is the source's new state, complete, to be stored after every
	// poll, failed or not (see Poll).
	State tidings.SourceState
	// Items are the normalized items; nil when NotModified or on error.
	Items []tidings.Item
	// NotModified is set on a 304, when a file has the size and
	// modification time of the previous poll, or when the body is the one
	// parsed last time (State.BodyHash), whatever its validators said.
	NotModified bool
	// Bytes is the size of the body read, after decompression.
	Bytes int64
	// Hub and Self are the WebSub hub and the feed's own URL as the feed
	// advertises them (Link header, or rel="hub"/"self" links in the
	// feed); empty when it advertises none, and on a 304.
	Hub, Self string
	// MovedTo is the new URL when a permanent redirect moved the feed in
	// this poll (then State.URL is MovedTo too), so the caller can log it.
	MovedTo string
}

// response is what one fetch brought back, before parsing.
type response struct {
	url          string // where the body came from, after redirects
	permanentURL string // target of the leading permanent redirects, if any
	notModified  bool
	body         []byte
	contentType  string
	etag         string
	lastModified string
	header       http.Header   // of the final response
	conditional  bool          // the request carried validators
	latency      time.Duration // from the first request to the body read
}

// Poll fetches src once and returns its items and new state.
//
// It starts from prev.URL when set (the target of an earlier permanent
// redirect), else src.URL, and sends prev.ETag and prev.LastModified as
// If-None-Match and If-Modified-Since. It blocks for a slot under
// Options.Concurrency and Options.PerHost.
//
// Validators are left out when the last request without them is 12h old,
// so servers with broken validators still get their changes seen.
//
// Result.State is complete after every poll: on success LastSuccess is set,
// LastError cleared, Failures reset and NextPoll is one adaptive interval
// away (±10% jitter; see adaptive in schedule.go, never below the
// configured interval); on failure LastError is the returned error's
// message and ErrorKind its kind (see ErrorKind), Failures
// grows and NextPoll backs off exponentially up to a day, or later to
// honour a Retry-After. A permanent redirect (301, 308) moves State.URL to
// its target once the target answered well.
//
// The returned error wraps one of the package's sentinels. The exception is
// the caller's ctx ending (shutdown): then the error wraps ctx.Err(), and
// State is prev unchanged, since nothing was learnt about the feed, so the
// caller should not store it.
func (f *Fetcher) Poll(ctx context.Context, src tidings.Source, prev tidings.SourceState) (Result, error) {
	if prev.SourceURL != src.URL {
		// The configured URL changed (or was never recorded): what was learnt
		// about the old one, its redirect target and validators, does not apply.
		prev.URL, prev.ETag, prev.LastModified, prev.BodyHash = "", "", "", ""
	}
	start := startURL(src, prev)
	u, err := parseFeedURL(start)
	if err != nil {
		return f.failed(src, prev, start, f.opts.Now(), nil, err), err
	}

	held := &slots{lim: f.lim}
	defer held.free()
	if err := held.acquire(ctx, hostKey(u)); err != nil {
		return canceled(src, prev, err)
	}

	now := f.opts.Now()
	// Validators are left out every unconditionalEvery, so that a server
	// whose ETag or Last-Modified is stuck still gets its changes seen.
	cond := prev
	if now.Sub(prev.LastUnconditional) >= unconditionalEvery {
		cond.ETag, cond.LastModified = "", ""
	}
	var resp *response
	if u.Scheme == "file" {
		resp, err = f.readFile(ctx, u, cond)
	} else {
		resp, err = f.get(ctx, src, cond, u, held)
	}
	if resp != nil {
		resp.conditional = cond.ETag != "" || cond.LastModified != ""
	}
	if err != nil {
		if ctx.Err() != nil {
			return canceled(src, prev, ctx.Err())
		}
		return f.failed(src, prev, start, now, resp, err), err
	}
	if resp.notModified {
		return f.succeeded(src, prev, start, now, resp, FeedInfo{}, nil), nil
	}
	if h := bodyHash(resp.body); h == prev.BodyHash {
		// The same bytes as last time behind validators that changed (or
		// an unconditional request): nothing to parse.
		resp.notModified = true
		res := f.succeeded(src, prev, start, now, resp, FeedInfo{}, nil)
		if resp.conditional {
			res.State.Conditional = "ignored"
		}
		return res, nil
	}

	items, info, err := f.parse(src, resp.url, resp.contentType, resp.body, now)
	if err != nil {
		return f.failed(src, prev, start, now, resp, err), err
	}
	return f.succeeded(src, prev, start, now, resp, info, items), nil
}

// startURL is where a poll begins: the permanent-redirect target recorded
// in prev, else the configured URL.
func startURL(src tidings.Source, prev tidings.SourceState) string {
	if prev.URL != "" && prev.SourceURL == src.URL {
		return prev.URL
	}
	return src.URL
}

func parseFeedURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, newError(ErrURL, err, "invalid feed URL %q: %v", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, newError(ErrURL, nil, "invalid feed URL %q: no host", raw)
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, newError(ErrURL, nil, "invalid feed URL %q: a file URL needs an absolute path (file:///path/feed.xml)", raw)
		}
	default:
		return nil, newError(ErrURL, nil, "invalid feed URL %q: use http://, https:// or file://", raw)
	}
	return u, nil
}

// hostKey names the per-host slot of u; the port is part of it, since
// different ports are usually different servers. Files have none.
func hostKey(u *url.URL) string {
	if u.Scheme == "file" {
		return ""
	}
	return strings.ToLower(u.Host)
}

func canceled(src tidings.Source, prev tidings.SourceState, err error) (Result, error) {
	st := prev
	st.Name = src.Name
	return Result{State: st}, fmt.Errorf("fetcher: poll %s stopped: %w", src.Name, err)
}

// Interval is the poll interval configured for src: its own, or the
// fetcher's default. Adaptive scheduling may poll less often, never more.
func (f *Fetcher) Interval(src tidings.Source) time.Duration {
	if src.Interval > 0 {
		return src.Interval
	}
	return f.opts.Interval
}

// baseState is prev carried over to this poll.
func baseState(src tidings.Source, prev tidings.SourceState, start string, now time.Time) tidings.SourceState {
	st := prev
	st.Name = src.Name
	st.SourceURL = src.URL
	st.URL = start
	st.LastPoll = now
	return st
}

func (f *Fetcher) succeeded(src tidings.Source, prev tidings.SourceState, start string, now time.Time, resp *response, info FeedInfo, items []tidings.Item) Result {
	st := baseState(src, prev, start, now)
	st.LastSuccess = now
	st.LastError = ""
	st.Failures = 0
	st.RetryAfter = time.Time{}
	st.ErrorKind = ""
	if !resp.conditional {
		st.LastUnconditional = now
	}
	st.AvgLatencyMS = averageLatency(prev.AvgLatencyMS, resp)
	if !resp.notModified {
		st.FeedHint, st.SkipHours, st.SkipDays = info.Hint, info.SkipHours, info.SkipDays
	}
	f.schedule(src, &st, now, httpHint(resp.header, now))
	var moved string
	if resp.permanentURL != "" && resp.permanentURL != start {
		st.URL = resp.permanentURL
		moved = resp.permanentURL
	}
	if resp.notModified {
		// A 304 may carry fresh validators; without them the old ones stand.
		if resp.etag != "" {
			st.ETag = resp.etag
		}
		if resp.lastModified != "" {
			st.LastModified = resp.lastModified
		}
		if resp.body == nil && resp.header != nil {
			st.Conditional = "304"
		}
		return Result{State: st, NotModified: true, MovedTo: moved}
	}
	st.ETag = resp.etag
	st.LastModified = resp.lastModified
	st.BodyHash = bodyHash(resp.body)
	if resp.header != nil && resp.etag == "" && resp.lastModified == "" {
		st.Conditional = "none"
	}
	st.Title = info.Title
	st.SiteLink = info.SiteLink
	hub, self := discoverHub(resp.header, resp.body, resp.url)
	return Result{State: st, Items: items, Bytes: int64(len(resp.body)), MovedTo: moved, Hub: hub, Self: self}
}

func (f *Fetcher) failed(src tidings.Source, prev tidings.SourceState, start string, now time.Time, resp *response, err error) Result {
	st := baseState(src, prev, start, now)
	st.LastError = err.Error()
	st.ErrorKind = ErrorKind(err)
	st.LastErrorAt = now
	st.Failures++
	st.AvgLatencyMS = averageLatency(prev.AvgLatencyMS, resp)
	st.RetryAfter = time.Time{}
	st.NextPoll = now.Add(jitter(backoff(f.Interval(src), st.Failures)))
	if se, ok := errors.AsType[*StatusError](err); ok && !se.RetryAfter.IsZero() {
		st.RetryAfter = se.RetryAfter
		if se.RetryAfter.After(st.NextPoll) {
			st.NextPoll = se.RetryAfter
		}
	}
	var n int64
	if resp != nil {
		n = int64(len(resp.body))
	}
	return Result{State: st, Bytes: n}
}

// backoff is the wait after the failures-th consecutive failure:
// interval·2^(failures-1), at most a day (or one interval, if that is
// longer).
func backoff(interval time.Duration, failures int) time.Duration {
	limit := max(maxBackoff, interval)
	d := interval
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// jitter spreads d uniformly by ±10%, never below a second, so a restart
// does not poll every feed in the same second.
func jitter(d time.Duration) time.Duration {
	if spread := int64(d / 10); spread > 0 {
		d += time.Duration(rand.Int64N(2*spread+1) - spread)
	}
	return max(d, time.Second)
}

// bodyHash identifies a body's bytes.
func bodyHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// averageLatency folds this poll's request time into a moving average that
// weighs the last poll a quarter; files and cancelled requests leave it.
func averageLatency(prevMS int64, resp *response) int64 {
	if resp == nil || resp.latency <= 0 {
		return prevMS
	}
	ms := max(resp.latency.Milliseconds(), 1)
	if prevMS <= 0 {
		return ms
	}
	return (3*prevMS + ms + 2) / 4
}
