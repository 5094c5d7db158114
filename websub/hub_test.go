package websub

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testTopic = "http://tidings.test/topics/mexico.atom"

// testSubscriber is a real WebSub subscriber endpoint on loopback: it
// echoes challenges (unless told not to) and records deliveries.
type testSubscriber struct {
	srv      *httptest.Server
	echo     bool
	failures int // answer this many deliveries with 500 first

	mu         sync.Mutex
	verified   []url.Values
	deliveries []*http.Request
	bodies     [][]byte
	got        chan struct{}
}

func newTestSubscriber(t *testing.T, echo bool) *testSubscriber {
	ts := &testSubscriber{echo: echo, got: make(chan struct{}, 16)}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if r.Method == http.MethodGet {
			q := r.URL.Query()
			ts.verified = append(ts.verified, q)
			if ts.echo {
				io.WriteString(w, q.Get("hub.challenge"))
			} else {
				io.WriteString(w, "no")
			}
			return
		}
		if ts.failures > 0 {
			ts.failures--
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		body, _ := io.ReadAll(r.Body)
		ts.deliveries = append(ts.deliveries, r)
		ts.bodies = append(ts.bodies, body)
		ts.got <- struct{}{}
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func newTestHub(t *testing.T, opts HubOptions) (*Hub, *httptest.Server) {
	if opts.ValidTopic == nil {
		opts.ValidTopic = func(topic string) bool { return topic == testTopic }
	}
	if opts.RetryBase == 0 {
		opts.RetryBase = 10 * time.Millisecond
	}
	h := NewHub(opts, nil)
	srv := httptest.NewServer(h)
	h.opts.URL = srv.URL
	t.Cleanup(func() { h.Close(); srv.Close() })
	return h, srv
}

func subscribe(t *testing.T, hubURL string, form url.Values) *http.Response {
	t.Helper()
	resp, err := http.PostForm(hubURL, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestHubDeliversSignedContentToVerifiedSubscribers(t *testing.T) {
	h, hubSrv := newTestHub(t, HubOptions{})
	sub := newTestSubscriber(t, true)
	resp := subscribe(t, hubSrv.URL, url.Values{
		"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {sub.srv.URL + "/cb"},
		"hub.secret": {"s3cret"}, "hub.lease_seconds": {"60"},
	})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("subscribe: %d, want 202", resp.StatusCode)
	}
	h.Wait()
	subs := h.Subscriptions()
	if len(subs) != 1 || !h.HasSubscribers(testTopic) {
		t.Fatalf("after verification: %v", subs)
	}
	if lease := time.Until(subs[0].Expires); lease < 59*time.Minute || lease > time.Hour {
		t.Errorf("a 60s lease request was granted %s; want it clamped to the 1h minimum", lease)
	}
	if q := sub.verified[0]; q.Get("hub.mode") != "subscribe" || q.Get("hub.topic") != testTopic || q.Get("hub.lease_seconds") != "3600" {
		t.Errorf("verification request: %v", q)
	}

	body := []byte(`<feed xmlns="http://www.w3.org/2005/Atom"><title>new</title></feed>`)
	h.Publish(testTopic, "application/atom+xml; charset=utf-8", body)
	select {
	case <-sub.got:
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	r := sub.deliveries[0]
	if string(sub.bodies[0]) != string(body) || r.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Errorf("delivery: %q with %q", sub.bodies[0], r.Header.Get("Content-Type"))
	}
	if err := verify("s3cret", r.Header.Get("X-Hub-Signature"), sub.bodies[0]); err != nil || !strings.HasPrefix(r.Header.Get("X-Hub-Signature"), "sha256=") {
		t.Errorf("signature %q: %v", r.Header.Get("X-Hub-Signature"), err)
	}
	links := strings.Join(r.Header.Values("Link"), ", ")
	if !strings.Contains(links, `<`+hubSrv.URL+`>; rel="hub"`) || !strings.Contains(links, `<`+testTopic+`>; rel="self"`) {
		t.Errorf("Link headers: %s", links)
	}
}

func TestHubIgnoresCallbacksThatFailVerification(t *testing.T) {
	h, hubSrv := newTestHub(t, HubOptions{})
	sub := newTestSubscriber(t, false)
	subscribe(t, hubSrv.URL, url.Values{"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {sub.srv.URL}})
	h.Wait()
	h.Publish(testTopic, "application/atom+xml", []byte("<feed/>"))
	h.Wait()
	if len(h.Subscriptions()) != 0 || len(sub.deliveries) != 0 || len(sub.verified) != 1 {
		t.Errorf("unverified callback: %d subscriptions, %d deliveries, %d verifications", len(h.Subscriptions()), len(sub.deliveries), len(sub.verified))
	}
}

func TestHubRetriesFailedDeliveries(t *testing.T) {
	h, hubSrv := newTestHub(t, HubOptions{Attempts: 4})
	sub := newTestSubscriber(t, true)
	sub.failures = 2
	subscribe(t, hubSrv.URL, url.Values{"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {sub.srv.URL}})
	h.Wait()
	h.Publish(testTopic, "application/rss+xml", []byte("<rss/>"))
	h.Wait()
	if len(sub.deliveries) != 1 || h.LastError() != nil {
		t.Errorf("after two failures: %d deliveries, last error %v", len(sub.deliveries), h.LastError())
	}

	sub.failures = 10 // more than the attempts: the hub gives up and says so
	h.Publish(testTopic, "application/rss+xml", []byte("<rss/>"))
	h.Wait()
	if len(sub.deliveries) != 1 || h.LastError() == nil || !strings.Contains(h.LastError().Error(), "gave up after 4 attempts") {
		t.Errorf("after giving up: %d deliveries, last error %v", len(sub.deliveries), h.LastError())
	}
}

func TestHubUnsubscribe(t *testing.T) {
	h, hubSrv := newTestHub(t, HubOptions{})
	sub := newTestSubscriber(t, true)
	form := url.Values{"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {sub.srv.URL}}
	subscribe(t, hubSrv.URL, form)
	h.Wait()
	form.Set("hub.mode", "unsubscribe")
	if resp := subscribe(t, hubSrv.URL, form); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("unsubscribe: %d", resp.StatusCode)
	}
	h.Wait()
	if len(h.Subscriptions()) != 0 {
		t.Errorf("still subscribed after a verified unsubscribe")
	}
}

func TestHubRejectsBadRequests(t *testing.T) {
	_, hubSrv := newTestHub(t, HubOptions{DenyPrivate: true})
	ok := url.Values{"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {"https://reader.example/cb"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vals := range ok {
			f[key] = vals
		}
		f.Set(k, v)
		return f
	}
	tests := map[string]struct {
		form url.Values
		code int
	}{
		"bad mode":          {with("hub.mode", "publish"), http.StatusBadRequest},
		"unknown topic":     {with("hub.topic", "http://elsewhere/feed"), http.StatusBadRequest},
		"relative callback": {with("hub.callback", "/cb"), http.StatusBadRequest},
		"ftp callback":      {with("hub.callback", "ftp://x/cb"), http.StatusBadRequest},
		"loopback callback": {with("hub.callback", "http://127.0.0.1:9/cb"), http.StatusForbidden},
		"private callback":  {with("hub.callback", "http://10.1.2.3/cb"), http.StatusForbidden},
		"localhost":         {with("hub.callback", "http://localhost/cb"), http.StatusForbidden},
		"long secret":       {with("hub.secret", strings.Repeat("x", 200)), http.StatusBadRequest},
		"bad lease":         {with("hub.lease_seconds", "-5"), http.StatusBadRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if resp := subscribe(t, hubSrv.URL, tc.form); resp.StatusCode != tc.code {
				t.Errorf("%d, want %d", resp.StatusCode, tc.code)
			}
		})
	}
	resp, err := http.Get(hubSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on the hub: %d", resp.StatusCode)
	}
}

func TestHubBoundsSubscriptions(t *testing.T) {
	h, hubSrv := newTestHub(t, HubOptions{MaxSubscriptions: 2})
	var subs []*testSubscriber
	for range 3 {
		subs = append(subs, newTestSubscriber(t, true))
	}
	for i, s := range subs {
		resp := subscribe(t, hubSrv.URL, url.Values{"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {s.srv.URL}})
		h.Wait()
		if want := map[bool]int{true: 202, false: 503}[i < 2]; resp.StatusCode != want {
			t.Errorf("subscription %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	// Renewing an existing subscription is allowed at the limit.
	if resp := subscribe(t, hubSrv.URL, url.Values{"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {subs[0].srv.URL}}); resp.StatusCode != 202 {
		t.Errorf("renewal at the limit: %d", resp.StatusCode)
	}
}

func TestHubDropsExpiredLeases(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	sub := newTestSubscriber(t, true)
	h := NewHub(HubOptions{Now: clock, ValidTopic: func(string) bool { return true }}, []Subscription{
		{Topic: testTopic, Callback: sub.srv.URL, Expires: now.Add(time.Hour)},
		{Topic: testTopic, Callback: sub.srv.URL + "/old", Expires: now.Add(-time.Second)},
	})
	defer h.Close()
	if n := len(h.Subscriptions()); n != 1 {
		t.Fatalf("loaded %d subscriptions, want the 1 unexpired", n)
	}
	now = now.Add(2 * time.Hour)
	h.Publish(testTopic, "application/atom+xml", []byte("<feed/>"))
	h.Wait()
	if len(sub.deliveries) != 0 || h.HasSubscribers(testTopic) {
		t.Errorf("an expired lease still got %d deliveries", len(sub.deliveries))
	}
}

func TestHubPersistsSubscriptions(t *testing.T) {
	var saved []Subscription
	h, hubSrv := newTestHub(t, HubOptions{Save: func(s []Subscription) error { saved = s; return nil }})
	sub := newTestSubscriber(t, true)
	subscribe(t, hubSrv.URL, url.Values{"hub.mode": {"subscribe"}, "hub.topic": {testTopic}, "hub.callback": {sub.srv.URL}, "hub.secret": {"k"}})
	h.Wait()
	if len(saved) != 1 || saved[0].Secret != "k" || saved[0].Callback != sub.srv.URL {
		t.Errorf("saved %+v", saved)
	}
}
