package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rssWith returns an RSS feed with the given item titles, advertising hub
// (if any) as its WebSub hub.
func rssWith(hub, self string, titles ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>Push test</title><link>https://push.example/</link>`)
	if hub != "" {
		fmt.Fprintf(&b, `<atom:link rel="hub" href="%s"/><atom:link rel="self" href="%s"/>`, hub, self)
	}
	for i, t := range titles {
		fmt.Fprintf(&b, `<item><title>%s</title><link>https://push.example/%d</link><guid>push-%d</guid><pubDate>Mon, 0%d Nov 2026 10:00:00 +0000</pubDate></item>`, t, i, i, i+1)
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

func hmacSHA256(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// waitUntil polls cond every 50 ms for up to d.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

// TestWebSubHubPushesTopicChanges runs Tidings' own hub against a test
// subscriber: verification of intent, then a signed delivery of the topic
// feed once a poll adds an item; a callback that does not echo the
// challenge gets nothing.
func TestWebSubHubPushesTopicChanges(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.xml")
	os.WriteFile(feed, []byte(rssWith("", "", "First story")), 0o644)
	listen := freeAddr(t)
	base := "http://" + listen
	cfg := filepath.Join(dir, "tidings.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
storage: {path: ./data/t.db}
server: {listen: %s, watch_config: false}
fetch: {interval: 1s}
sources:
  - {name: local, url: "file://./feed.xml"}
topics:
  - {name: stories, query: story}
`, listen)), 0o644)

	type delivery struct {
		body []byte
		hdr  http.Header
	}
	var mu sync.Mutex
	var got []delivery
	verified := map[string]bool{}
	subscriber := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodGet {
			verified[r.URL.Path] = true
			if r.URL.Path == "/good" {
				io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			}
			return
		}
		b, _ := io.ReadAll(r.Body)
		got = append(got, delivery{b, r.Header.Clone()})
	}))
	defer subscriber.Close()

	d := startDaemon(t, cfg, base)
	topic := base + "/topics/stories.atom"
	// The first poll is spread over a few seconds after the start: wait
	// for it, so that only the change below counts.
	if !waitUntil(10*time.Second, func() bool { _, b := get(t, topic); return strings.Contains(string(b), "First story") }) {
		t.Fatalf("the first poll never happened\n%s", d.stderr)
	}
	resp, body := get(t, topic)
	links := strings.Join(resp.Header.Values("Link"), ", ")
	if !strings.Contains(links, `<`+base+`/websub>; rel="hub"`) || !strings.Contains(links, `<`+topic+`>; rel="self"`) {
		t.Errorf("topic feed Link headers: %q", links)
	}
	if !strings.Contains(string(body), `rel="hub"`) {
		t.Errorf("the feed does not advertise its hub:\n%s", body)
	}

	for _, path := range []string{"/good", "/silent"} {
		r, err := http.PostForm(base+"/websub", url.Values{
			"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {subscriber.URL + path}, "hub.secret": {"topsecret"},
		})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusAccepted {
			t.Fatalf("subscribe %s: %d, want 202", path, r.StatusCode)
		}
	}
	if !waitUntil(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return verified["/good"] && verified["/silent"] }) {
		t.Fatal("the hub never verified intent")
	}
	// Right after verification the new subscriber gets the feed as it is.
	if !waitUntil(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 }) {
		t.Fatalf("no delivery of the current feed after verification\n%s", d.stderr)
	}
	mu.Lock()
	initial := got[0]
	mu.Unlock()
	if !strings.Contains(string(initial.body), "First story") || strings.Contains(string(initial.body), "Second story") {
		t.Errorf("the delivery after verification is not the current feed:\n%s", initial.body)
	}

	os.WriteFile(feed, []byte(rssWith("", "", "First story", "Second story pushed")), 0o644)
	if !waitUntil(15*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 1 }) {
		t.Fatalf("no delivery after the topic changed\n%s", d.stderr)
	}
	time.Sleep(500 * time.Millisecond) // room for a wrong extra delivery to show up
	mu.Lock()
	changed := got[len(got)-1]
	n := len(got)
	mu.Unlock()
	if n != 2 {
		t.Errorf("%d deliveries for a subscription and one change, want 2", n)
	}
	if !strings.Contains(string(changed.body), "Second story pushed") {
		t.Errorf("the delivery lacks the new item:\n%s", changed.body)
	}
	for _, g := range []delivery{initial, changed} {
		if sig := g.hdr.Get("X-Hub-Signature"); sig != hmacSHA256("topsecret", g.body) {
			t.Errorf("X-Hub-Signature %q does not sign the body", sig)
		}
		if ct := g.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
			t.Errorf("delivery Content-Type %q", ct)
		}
	}
	for _, g := range got {
		if strings.Contains(g.hdr.Get("Link"), "silent") {
			t.Errorf("a callback that failed verification got a delivery")
		}
	}
	d.stop(t)
}

// TestWebSubSubscriberTakesPushes runs Tidings' subscriber against a test
// hub: it subscribes to the hub a source advertises, ingests a correctly
// signed delivery, ignores a forged one, and unsubscribes when the source
// is removed from the config.
func TestWebSubSubscriberTakesPushes(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var requests []url.Values
	var echoed []bool
	var hubURL string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		form := r.PostForm
		w.WriteHeader(http.StatusAccepted)
		go func() {
			u, _ := url.Parse(form.Get("hub.callback"))
			q := u.Query()
			q.Set("hub.mode", form.Get("hub.mode"))
			q.Set("hub.topic", form.Get("hub.topic"))
			q.Set("hub.challenge", "c-123")
			q.Set("hub.lease_seconds", "3600")
			u.RawQuery = q.Encode()
			ok := false
			if resp, err := http.Get(u.String()); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				ok = string(b) == "c-123"
			}
			mu.Lock()
			requests = append(requests, form)
			echoed = append(echoed, ok)
			mu.Unlock()
		}()
	}))
	defer hub.Close()
	hubURL = hub.URL

	var feedURL string
	source := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		if r.URL.Path != "/feed" {
			io.WriteString(w, rssWith("", "", "Other story"))
			return
		}
		io.WriteString(w, rssWith(hubURL, feedURL, "Polled story"))
	}))
	defer source.Close()
	feedURL = source.URL + "/feed"

	listen := freeAddr(t)
	base := "http://" + listen
	cfg := filepath.Join(dir, "tidings.yaml")
	write := func(sources string) {
		os.WriteFile(cfg, []byte(fmt.Sprintf(`
storage: {path: ./data/t.db}
server: {listen: %s, watch_config: false}
fetch: {interval: 1h}
websub: {subscribe: true}
sources:
%s`, listen, sources)), 0o644)
	}
	write(fmt.Sprintf("  - {name: pushy, url: %q}\n  - {name: other, url: %q}\n", feedURL, source.URL+"/other"))
	d := startDaemon(t, cfg, base)

	if !waitUntil(15*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(requests) > 0 }) {
		t.Fatalf("Tidings never subscribed to the advertised hub\n%s", d.stderr)
	}
	mu.Lock()
	sub := requests[0]
	ok := echoed[0]
	mu.Unlock()
	if sub.Get("hub.mode") != "subscribe" || sub.Get("hub.topic") != feedURL || !ok || sub.Get("hub.secret") == "" {
		t.Fatalf("subscription %v, challenge echoed %v", sub, ok)
	}
	callback, secret := sub.Get("hub.callback"), sub.Get("hub.secret")
	if !strings.HasPrefix(callback, base+"/websub/callback/") {
		t.Errorf("callback %q is not under server.base_url", callback)
	}

	push := func(body, signature string) {
		req, _ := http.NewRequest(http.MethodPost, callback, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/rss+xml")
		req.Header.Set("X-Hub-Signature", signature)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Errorf("delivery answered %d", resp.StatusCode)
		}
	}
	forged := rssWith(hubURL, feedURL, "Polled story", "Forged story")
	push(forged, hmacSHA256("not-the-secret", []byte(forged)))
	good := rssWith(hubURL, feedURL, "Polled story", "Pushed story")
	push(good, hmacSHA256(secret, []byte(good)))

	_, all := get(t, base+"/topics/all.json")
	if !strings.Contains(string(all), "Pushed story") {
		t.Errorf("the signed delivery was not ingested:\n%s", all)
	}
	if strings.Contains(string(all), "Forged story") {
		t.Errorf("a delivery with a forged signature was ingested")
	}

	// Removing the source unsubscribes it.
	write(fmt.Sprintf("  - {name: other, url: %q}\n", source.URL+"/other"))
	d.cmd.Process.Signal(syscall.SIGHUP)
	if !waitUntil(15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(requests) > 1 && requests[len(requests)-1].Get("hub.mode") == "unsubscribe"
	}) {
		t.Fatalf("no unsubscription after the source was removed\n%s", d.stderr)
	}
	mu.Lock()
	if !echoed[len(echoed)-1] {
		t.Errorf("Tidings did not confirm its own unsubscription")
	}
	mu.Unlock()
	d.stop(t)
}
