package websub

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Subscription is one verified subscriber of one topic URL.
type Subscription struct {
	Topic    string    `json:"topic"`
	Callback string    `json:"callback"`
	Secret   string    `json:"secret,omitempty"`
	Expires  time.Time `json:"expires"`
}

// HubOptions configure a Hub. Zero values take the defaults named.
type HubOptions struct {
	// URL is the hub's own public URL, sent in the Link header of deliveries.
	URL string
	// ValidTopic reports whether a topic URL is one this hub publishes;
	// subscriptions to anything else are refused with 400.
	ValidTopic func(topic string) bool
	// DefaultLease is granted when a subscriber asks for none (10 days);
	// requests are clamped to [MinLease, MaxLease] (1 hour, 30 days).
	DefaultLease, MinLease, MaxLease time.Duration
	// MaxSubscriptions bounds how many subscriptions the hub keeps (1000),
	// so a stranger cannot make it push to an unbounded list.
	MaxSubscriptions int
	// DenyPrivate refuses callbacks on private, loopback and link-local
	// addresses, checked at connect time (after DNS).
	DenyPrivate bool
	// Attempts is how often a delivery is tried (5); a failed attempt waits
	// RetryBase·2ⁿ (1s) before the next.
	Attempts  int
	RetryBase time.Duration
	// Timeout bounds each verification and delivery request (10s).
	Timeout time.Duration
	// Save, if set, is called with every subscription after each change,
	// so subscriptions survive a restart. Its error is kept in LastError.
	Save func([]Subscription) error
	// OnVerified, if set, is called (outside the hub's lock) after a
	// subscription is verified, e.g. to note the feed's current version.
	OnVerified func(Subscription)
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Hub is a WebSub hub for the topic feeds of one Tidings instance:
// subscriptions are answered 202, verified with a challenge, leased,
// and every verified subscriber gets each new version of its topic,
// signed when it gave a secret.
type Hub struct {
	opts   HubOptions
	client *http.Client

	ctx    context.Context // ends background work on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	subs    map[subKey]Subscription
	lastErr error
}

type subKey struct{ topic, callback string }

// NewHub returns a hub holding the given subscriptions (loaded from an
// earlier run; expired ones are dropped).
func NewHub(opts HubOptions, initial []Subscription) *Hub {
	if opts.DefaultLease <= 0 {
		opts.DefaultLease = 10 * 24 * time.Hour
	}
	if opts.MinLease <= 0 {
		opts.MinLease = time.Hour
	}
	if opts.MaxLease <= 0 {
		opts.MaxLease = 30 * 24 * time.Hour
	}
	if opts.MaxSubscriptions <= 0 {
		opts.MaxSubscriptions = 1000
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ValidTopic == nil {
		opts.ValidTopic = func(string) bool { return false }
	}
	h := &Hub{opts: opts, subs: map[subKey]Subscription{}, client: newClient(opts.Timeout, opts.DenyPrivate)}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	now := opts.Now()
	for _, s := range initial {
		if s.Expires.After(now) {
			h.subs[subKey{s.Topic, s.Callback}] = s
		}
	}
	return h
}

// newClient builds the HTTP client for callbacks: no redirects followed
// (a callback is an exact URL), and private addresses refused if asked.
func newClient(timeout time.Duration, denyPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if denyPrivate {
		d.Control = denyPrivateControl
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Close stops verifications and retries in flight and waits for them.
func (h *Hub) Close() {
	h.cancel()
	h.wg.Wait()
}

// Wait blocks until every verification and delivery started so far has
// finished (for tests and for a clean stop after a last Publish).
func (h *Hub) Wait() { h.wg.Wait() }

// Subscriptions returns the verified, unexpired subscriptions.
func (h *Hub) Subscriptions() []Subscription {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.activeLocked(h.opts.Now())
}

// HasSubscribers reports whether any verified subscriber follows topic,
// so the caller can skip rendering for topics nobody follows.
func (h *Hub) HasSubscribers(topic string) bool {
	now := h.opts.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, s := range h.subs {
		if k.topic == topic && s.Expires.After(now) {
			return true
		}
	}
	return false
}

// LastError returns the last error of saving subscriptions or of a
// delivery that gave up, for the operator.
func (h *Hub) LastError() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastErr
}

func (h *Hub) activeLocked(now time.Time) []Subscription {
	out := make([]Subscription, 0, len(h.subs))
	for k, s := range h.subs {
		if !s.Expires.After(now) {
			delete(h.subs, k)
			continue
		}
		out = append(out, s)
	}
	return out
}

// ServeHTTP takes subscription requests (POST, form-encoded, as the spec
// says). It answers 202 and verifies intent in the background.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "WebSub hub: POST hub.mode, hub.topic and hub.callback", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	mode, topic, callback := r.PostForm.Get("hub.mode"), r.PostForm.Get("hub.topic"), r.PostForm.Get("hub.callback")
	secret := r.PostForm.Get("hub.secret")
	if mode != "subscribe" && mode != "unsubscribe" {
		http.Error(w, `hub.mode must be "subscribe" or "unsubscribe"`, http.StatusBadRequest)
		return
	}
	if !h.opts.ValidTopic(topic) {
		http.Error(w, "hub.topic is not a feed this hub publishes: "+strconv.Quote(topic), http.StatusBadRequest)
		return
	}
	cb, err := url.Parse(callback)
	if err != nil || (cb.Scheme != "http" && cb.Scheme != "https") || cb.Host == "" {
		http.Error(w, "hub.callback must be an absolute http(s) URL", http.StatusBadRequest)
		return
	}
	if h.opts.DenyPrivate && literalPrivate(cb.Hostname()) {
		http.Error(w, "hub.callback is on a private network address, which this hub refuses", http.StatusForbidden)
		return
	}
	if len(secret) >= 200 {
		http.Error(w, "hub.secret must be shorter than 200 bytes", http.StatusBadRequest)
		return
	}
	lease := h.opts.DefaultLease
	if v := r.PostForm.Get("hub.lease_seconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			http.Error(w, "hub.lease_seconds must be a positive number", http.StatusBadRequest)
			return
		}
		lease = time.Duration(min(n, int64(h.opts.MaxLease/time.Second))) * time.Second
	}
	lease = min(max(lease, h.opts.MinLease), h.opts.MaxLease)
	if mode == "subscribe" {
		h.mu.Lock()
		_, known := h.subs[subKey{topic, callback}]
		full := !known && len(h.activeLocked(h.opts.Now())) >= h.opts.MaxSubscriptions
		h.mu.Unlock()
		if full {
			http.Error(w, "this hub has reached its subscription limit", http.StatusServiceUnavailable)
			return
		}
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.verifyIntent(h.ctx, mode, Subscription{Topic: topic, Callback: callback, Secret: secret}, lease)
	}()
	w.WriteHeader(http.StatusAccepted)
}

// literalPrivate catches callbacks given as a private IP literal or
// localhost early; names are checked again at connect time.
func literalPrivate(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && isPrivate(a)
}

// verifyIntent asks the callback to echo a random challenge; only then is
// the (un)subscription applied, so nobody can subscribe someone else.
func (h *Hub) verifyIntent(ctx context.Context, mode string, s Subscription, lease time.Duration) {
	challenge := randomToken()
	u, err := url.Parse(s.Callback)
	if err != nil {
		return
	}
	q := u.Query()
	q.Set("hub.mode", mode)
	q.Set("hub.topic", s.Topic)
	q.Set("hub.challenge", challenge)
	if mode == "subscribe" {
		q.Set("hub.lease_seconds", strconv.FormatInt(int64(lease/time.Second), 10))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil || resp.StatusCode/100 != 2 || string(bytes.TrimSpace(body)) != challenge {
		return // not confirmed: nothing changes
	}
	h.mu.Lock()
	key := subKey{s.Topic, s.Callback}
	if mode == "subscribe" {
		s.Expires = h.opts.Now().Add(lease)
		h.subs[key] = s
	} else {
		delete(h.subs, key)
	}
	h.saveLocked()
	h.mu.Unlock()
	if mode == "subscribe" && h.opts.OnVerified != nil {
		h.opts.OnVerified(s)
	}
}

func (h *Hub) saveLocked() {
	if h.opts.Save == nil {
		return
	}
	if err := h.opts.Save(h.activeLocked(h.opts.Now())); err != nil {
		h.lastErr = fmt.Errorf("websub: save subscriptions: %w", err)
	}
}

// Publish sends body, the current content of topic, to every verified
// subscriber of topic, in the background, retrying failed deliveries with
// backoff. Each delivery carries Link headers naming the hub and the topic
// (rel="hub", rel="self"), as the spec asks.
func (h *Hub) Publish(topic, contentType string, body []byte) {
	now := h.opts.Now()
	h.mu.Lock()
	var targets []Subscription
	for _, s := range h.activeLocked(now) {
		if s.Topic == topic {
			targets = append(targets, s)
		}
	}
	h.mu.Unlock()
	body = bytes.Clone(body)
	for _, s := range targets {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.deliver(h.ctx, s, contentType, body)
		}()
	}
}

// Send delivers body, the current content of s.Topic, to the one
// subscription s in the background, with Publish's signature, headers and
// retries: a hub sends a new subscriber what it has right after
// verification, so that it need not wait for the next change.
func (h *Hub) Send(s Subscription, contentType string, body []byte) {
	body = bytes.Clone(body)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.deliver(h.ctx, s, contentType, body)
	}()
}

// deliver POSTs one notification, retrying on failure. A 410 Gone from
// the subscriber ends its subscription, as the spec allows.
func (h *Hub) deliver(ctx context.Context, s Subscription, contentType string, body []byte) {
	var last error
	for attempt := range h.opts.Attempts {
		if attempt > 0 {
			t := time.NewTimer(h.opts.RetryBase << (attempt - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		code, err := h.post(ctx, s, contentType, body)
		switch {
		case err == nil && code/100 == 2:
			return
		case code == http.StatusGone:
			h.mu.Lock()
			delete(h.subs, subKey{s.Topic, s.Callback})
			h.saveLocked()
			h.mu.Unlock()
			return
		case err != nil:
			last = err
		default:
			last = fmt.Errorf("callback answered HTTP %d", code)
		}
		if ctx.Err() != nil {
			return
		}
	}
	h.mu.Lock()
	h.lastErr = fmt.Errorf("websub: deliver %s to %s: gave up after %d attempts: %w", s.Topic, s.Callback, h.opts.Attempts, last)
	h.mu.Unlock()
}

func (h *Hub) post(ctx context.Context, s Subscription, contentType string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Callback, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Add("Link", fmt.Sprintf(`<%s>; rel="hub"`, h.opts.URL))
	req.Header.Add("Link", fmt.Sprintf(`<%s>; rel="self"`, s.Topic))
	if s.Secret != "" {
		req.Header.Set("X-Hub-Signature", sign(s.Secret, body))
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
