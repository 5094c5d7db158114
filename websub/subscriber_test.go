package websub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testHub is a minimal real hub on loopback: it records (un)subscription
// requests and, like a hub does, verifies intent against the callback.
type testHub struct {
	srv   *httptest.Server
	lease string // lease_seconds it grants

	mu       sync.Mutex
	requests []url.Values
	echoed   []bool // per request: did the callback echo the challenge
	seen     chan url.Values
}

func newTestHubServer(t *testing.T, lease string) *testHub {
	th := &testHub{lease: lease, seen: make(chan url.Values, 16)}
	th.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		form := r.PostForm
		w.WriteHeader(http.StatusAccepted)
		go func() {
			challenge := randomToken()
			u, _ := url.Parse(form.Get("hub.callback"))
			q := u.Query()
			q.Set("hub.mode", form.Get("hub.mode"))
			q.Set("hub.topic", form.Get("hub.topic"))
			q.Set("hub.challenge", challenge)
			q.Set("hub.lease_seconds", th.lease)
			u.RawQuery = q.Encode()
			echoed := false
			if resp, err := http.Get(u.String()); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				echoed = resp.StatusCode == 200 && string(b) == challenge
			}
			th.mu.Lock()
			th.requests = append(th.requests, form)
			th.echoed = append(th.echoed, echoed)
			th.mu.Unlock()
			th.seen <- form
		}()
	}))
	t.Cleanup(th.srv.Close)
	return th
}

func (th *testHub) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case f := <-th.seen:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("the hub saw no request")
		return nil
	}
}

// deliver POSTs a feed to a callback as a hub does, signed with secret.
func deliver(t *testing.T, callback, secret string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, callback, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/rss+xml")
	if secret != "" {
		req.Header.Set("X-Hub-Signature", sign(secret, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("delivery answered %d", resp.StatusCode)
	}
}

type deliveries struct {
	mu     sync.Mutex
	bodies []string
}

func (d *deliveries) deliver(_ context.Context, source, _ string, body []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bodies = append(d.bodies, source+":"+string(body))
	return nil
}

func (d *deliveries) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.bodies...)
}

func newTestSubscriberSide(t *testing.T, opts SubscriberOptions) (*Subscriber, *deliveries) {
	d := &deliveries{}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts.CallbackBase = srv.URL + "/websub/callback"
	opts.Deliver = d.deliver
	s := NewSubscriber(opts)
	t.Cleanup(s.Close)
	mux.Handle("/websub/callback/", s)
	return s, d
}

func TestSubscriberVerifiesAndChecksSignatures(t *testing.T) {
	hub := newTestHubServer(t, "3600")
	s, got := newTestSubscriberSide(t, SubscriberOptions{})
	if err := s.Subscribe(context.Background(), "wsws", hub.srv.URL, "https://www.wsws.org/en/rss.xml"); err != nil {
		t.Fatal(err)
	}
	form := hub.next(t)
	if form.Get("hub.mode") != "subscribe" || form.Get("hub.secret") == "" || !strings.Contains(form.Get("hub.callback"), "/websub/callback/wsws/") {
		t.Fatalf("subscription request: %v", form)
	}
	if !hub.echoed[0] {
		t.Fatal("the callback did not echo the hub's challenge")
	}
	st, _ := s.Status("wsws")
	if !st.Verified || time.Until(st.Expires) < 59*time.Minute {
		t.Errorf("state after verification: %+v", st)
	}

	callback, secret := form.Get("hub.callback"), form.Get("hub.secret")
	deliver(t, callback, secret, []byte("<rss>good</rss>"))
	deliver(t, callback, "forged-secret", []byte("<rss>forged</rss>"))
	deliver(t, callback, "", []byte("<rss>unsigned</rss>"))
	if bodies := got.list(); len(bodies) != 1 || bodies[0] != "wsws:<rss>good</rss>" {
		t.Errorf("ingested %q; want only the correctly signed delivery", bodies)
	}
	if st, _ := s.Status("wsws"); st.Rejected != 2 || st.Delivered != 1 {
		t.Errorf("state: %+v", st)
	}

	// A callback path with a wrong token is not ours.
	resp, err := http.Post(callback[:strings.LastIndex(callback, "/")]+"/guess", "application/rss+xml", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("wrong token: %d, want 404", resp.StatusCode)
	}
}

func TestSubscriberRejectsUnrequestedVerification(t *testing.T) {
	hub := newTestHubServer(t, "3600")
	s, _ := newTestSubscriberSide(t, SubscriberOptions{})
	s.Subscribe(context.Background(), "a", hub.srv.URL, "https://a.example/feed")
	callback := hub.next(t).Get("hub.callback")
	for name, q := range map[string]string{
		"unsubscribe we never asked for": "hub.mode=unsubscribe&hub.topic=https%3A%2F%2Fa.example%2Ffeed&hub.challenge=x",
		"another topic":                  "hub.mode=subscribe&hub.topic=https%3A%2F%2Fevil.example%2F&hub.challenge=x",
	} {
		resp, err := http.Get(callback + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || string(b) == "x" {
			t.Errorf("%s: %d %q; want 404 and no echo", name, resp.StatusCode, b)
		}
	}
}

func TestSubscriberRenewsShortLeases(t *testing.T) {
	hub := newTestHubServer(t, "2") // a 2-second lease: renewal is due after 1.6 s
	s, _ := newTestSubscriberSide(t, SubscriberOptions{})
	if err := s.Subscribe(context.Background(), "a", hub.srv.URL, "https://a.example/feed"); err != nil {
		t.Fatal(err)
	}
	first := hub.next(t)
	renewal := hub.next(t)
	if renewal.Get("hub.mode") != "subscribe" || renewal.Get("hub.callback") != first.Get("hub.callback") {
		t.Errorf("renewal %v, first %v", renewal, first)
	}
	if st, _ := s.Status("a"); st.Renewals < 1 || !st.Verified {
		t.Errorf("state after renewal: %+v", st)
	}
}

func TestSubscriberUnsubscribes(t *testing.T) {
	hub := newTestHubServer(t, "3600")
	s, _ := newTestSubscriberSide(t, SubscriberOptions{})
	s.Subscribe(context.Background(), "a", hub.srv.URL, "https://a.example/feed")
	hub.next(t)
	if err := s.Unsubscribe(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	form := hub.next(t)
	hub.mu.Lock()
	echoed := hub.echoed[1]
	hub.mu.Unlock()
	if form.Get("hub.mode") != "unsubscribe" || !echoed {
		t.Errorf("unsubscribe request %v, confirmed %v", form, echoed)
	}
	if _, ok := s.Status("a"); ok {
		t.Errorf("the subscription is still known after a confirmed unsubscribe")
	}
}

func TestSubscriberAgainstTidingsHub(t *testing.T) {
	// Both halves together: our subscriber on our hub, as two Tidings
	// instances would run.
	h, hubSrv := newTestHub(t, HubOptions{})
	s, got := newTestSubscriberSide(t, SubscriberOptions{Lease: 2 * time.Hour})
	if err := s.Subscribe(context.Background(), "peer", hubSrv.URL, testTopic); err != nil {
		t.Fatal(err)
	}
	h.Wait()
	h.Publish(testTopic, "application/atom+xml", []byte("<feed>1</feed>"))
	h.Wait()
	if bodies := got.list(); len(bodies) != 1 || bodies[0] != "peer:<feed>1</feed>" {
		t.Errorf("delivered %q", bodies)
	}
}

func TestVerifySignatureMethods(t *testing.T) {
	body := []byte("payload")
	tests := map[string]struct {
		header string
		ok     bool
	}{
		"sha256":       {sign("k", body), true},
		"sha1":         {"sha1=" + hmacHex("sha1", "k", body), true},
		"sha512":       {"sha512=" + hmacHex("sha512", "k", body), true},
		"wrong key":    {sign("other", body), false},
		"md5 method":   {"md5=00", false},
		"no method":    {"abcdef", false},
		"not hex":      {"sha256=zz", false},
		"empty":        {"", false},
		"upper method": {"SHA256=" + strings.TrimPrefix(sign("k", body), "sha256="), true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := verify("k", tc.header, body); (err == nil) != tc.ok {
				t.Errorf("verify(%q) = %v, want ok=%v", tc.header, err, tc.ok)
			}
		})
	}
}

func hmacHex(method, key string, body []byte) string {
	h := map[string]func() hash.Hash{"sha1": sha1.New, "sha512": sha512.New}[method]
	m := hmac.New(h, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
