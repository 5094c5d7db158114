package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// statusFeeds serves a good feed, a throttled one (429, Retry-After an
// hour) and one that moved permanently; it counts the throttled requests.
func statusFeeds(t *testing.T, throttled *atomic.Int64) *httptest.Server {
	t.Helper()
	feed := `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://example.org/</link>` +
		`<item><title>One</title><guid>1</guid></item><item><title>Two</title><guid>2</guid></item></channel></rss>`
	mux := http.NewServeMux()
	mux.HandleFunc("/good.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"g1"`)
		if r.Header.Get("If-None-Match") == `"g1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte(feed))
	})
	mux.HandleFunc("/busy.xml", func(w http.ResponseWriter, r *http.Request) {
		throttled.Add(1)
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	})
	mux.HandleFunc("/old.xml", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new.xml", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/new.xml", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(feed)) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func statusConfig(t *testing.T, feeds string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`storage:
  path: ./data/t.db
server:
  listen: %s
fetch:
  interval: 10m
  timeout: 5s
sources:
  - name: good
    url: %[2]s/good.xml
  - name: busy
    url: %[2]s/busy.xml
  - name: moved
    url: %[2]s/old.xml
  - name: fresh
    url: %[2]s/never.xml
`, freeAddr(t), feeds)
	path := filepath.Join(dir, "tidings.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runIn(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}, args)
	return out.String() + errOut.String(), err
}

// TestStatusAndRetryAfter: fetch stores each source's state; status shows
// it from the store, as a table and as JSON; a second fetch leaves the
// host that sent Retry-After alone, and a restarted daemon would too.
func TestStatusAndRetryAfter(t *testing.T) {
	var throttled atomic.Int64
	srv := statusFeeds(t, &throttled)
	cfg := statusConfig(t, srv.URL)
	// Keep "fresh" out of the polls so that it stays never polled.
	if out, err := runIn(t, "fetch", "--config", cfg, "--source", "good"); err != nil {
		t.Fatalf("fetch good: %v\n%s", err, out)
	}
	for _, name := range []string{"busy", "moved"} {
		if out, err := runIn(t, "fetch", "--config", cfg, "--source", name); err != nil {
			t.Fatalf("fetch %s: %v\n%s", name, err, out)
		}
	}

	out, err := runIn(t, "status", "--config", cfg)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, want := range []string{
		"SOURCE", "good", "busy", "error: status",
		"moved: moved permanently to " + srv.URL + "/new.xml (configured " + srv.URL + "/old.xml)",
		"busy: HTTP 429 Too Many Requests",
		"busy: the server asked to wait until",
		"never polled",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	out, err = runIn(t, "status", "--config", cfg, "--format", "json")
	if err != nil {
		t.Fatalf("status --format json: %v\n%s", err, out)
	}
	var rows []sourceStatus
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	got := map[string]sourceStatus{}
	for _, r := range rows {
		got[r.Name] = r
	}
	if r := got["good"]; r.Items != 2 || r.LastSuccess.IsZero() || r.LastError != "" || r.NextPoll.IsZero() || r.State == nil || r.AvgLatencyMS <= 0 {
		t.Errorf("good: %+v", r)
	}
	if r := got["busy"]; r.ErrorKind != "status" || r.RetryAfter.Before(time.Now().Add(50*time.Minute)) || r.NextPoll.Before(r.RetryAfter) {
		t.Errorf("busy: kind %q retry after %v next poll %v", r.ErrorKind, r.RetryAfter, r.NextPoll)
	}
	if r := got["moved"]; !r.Moved || r.URL != srv.URL+"/new.xml" || r.Items != 2 {
		t.Errorf("moved: %+v", r)
	}
	if r := got["fresh"]; r.State != nil || r.ETagSupport != "unknown" {
		t.Errorf("fresh: %+v", r)
	}

	// The second fetch: the good feed answers 304, the busy one is not asked.
	out, err = runIn(t, "fetch", "--config", cfg, "--source", "good")
	if err != nil || !strings.Contains(out, "not modified") {
		t.Errorf("fetch good again: %v\n%s", err, out)
	}
	out, err = runIn(t, "fetch", "--config", cfg, "--source", "busy")
	if err != nil || !strings.Contains(out, "skipped: the server asked to wait") {
		t.Errorf("fetch busy again: %v\n%s", err, out)
	}
	if n := throttled.Load(); n != 1 {
		t.Errorf("the throttled feed got %d requests, want 1", n)
	}
	out, _ = runIn(t, "status", "--config", cfg, "--source", "good", "--format", "json")
	if !strings.Contains(out, `"etag_support": "304"`) {
		t.Errorf("good after a 304 lacks etag_support 304:\n%s", out)
	}

	// A daemon started now (a restart) reads the stored state and waits.
	s, err := loadSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(s.cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	state, _, err := st.SourceState(context.Background(), "busy")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if first := firstPoll(state, tidings.Source{}, 0, now, startSpread); first.Before(now.Add(50 * time.Minute)) {
		t.Errorf("after a restart the throttled feed is polled at %v, before its Retry-After %v", first, state.RetryAfter)
	}
	if first := firstPoll(tidings.SourceState{}, tidings.Source{}, 0, now, startSpread); first.After(now.Add(startSpread)) {
		t.Errorf("a new source waits until %v", first)
	}
}

// TestFirstPoll covers the start-up schedule of a source.
func TestFirstPoll(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		state    tidings.SourceState
		interval time.Duration // the source's configured interval
		lo, hi   time.Time
	}{
		"never polled":                           {tidings.SourceState{}, 0, now, now.Add(startSpread)},
		"due long ago":                           {tidings.SourceState{NextPoll: now.Add(-time.Hour)}, 0, now, now.Add(startSpread)},
		"backing off":                            {tidings.SourceState{NextPoll: now.Add(time.Hour)}, 0, now.Add(time.Hour), now.Add(time.Hour)},
		"retry-after is later":                   {tidings.SourceState{NextPoll: now.Add(time.Minute), RetryAfter: now.Add(2 * time.Hour)}, 0, now.Add(2 * time.Hour), now.Add(2 * time.Hour)},
		"interval shortened since the last poll": {tidings.SourceState{NextPoll: now.Add(24 * time.Hour)}, time.Minute, now.Add(time.Minute), now.Add(time.Minute)},
		"interval unchanged":                     {tidings.SourceState{NextPoll: now.Add(30 * time.Minute)}, time.Hour, now.Add(30 * time.Minute), now.Add(30 * time.Minute)},
		"failing source keeps its backoff":       {tidings.SourceState{NextPoll: now.Add(4 * time.Hour), LastError: "timeout"}, time.Minute, now.Add(4 * time.Hour), now.Add(4 * time.Hour)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := firstPoll(tc.state, tidings.Source{}, tc.interval, now, startSpread)
			if got.Before(tc.lo) || got.After(tc.hi) {
				t.Errorf("firstPoll = %v, want within [%v, %v]", got, tc.lo, tc.hi)
			}
		})
	}
}

// TestStatusFromDaemon: while a daemon holds the store, `status` asks its
// GET /sources with the config's admin token, and shows the same data.
func TestStatusFromDaemon(t *testing.T) {
	var throttled atomic.Int64
	feeds := statusFeeds(t, &throttled)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tidings.yaml")
	yaml := fmt.Sprintf("storage:\n  path: ./t.db\nserver:\n  listen: %s\n  admin_token: sekrit\nsources:\n  - name: good\n    url: %s/good.xml\n  - name: moved\n    url: %s/old.xml\n",
		ln.Addr(), feeds.URL, feeds.URL)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runIn(t, "fetch", "--config", cfg); err != nil {
		t.Fatalf("fetch: %v\n%s", err, out)
	}

	s, err := loadSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(s.cfg, false) // the daemon's hold on the store
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	srv := &server{pub: newPublisher(st, s, log), store: st, log: log, metrics: newMetrics(st),
		adminToken: func() string { return "sekrit" }}
	hs := &http.Server{Handler: srv.routes()}
	go hs.Serve(ln)
	defer hs.Close()

	if r, _ := get(t, "http://"+ln.Addr().String()+"/sources"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /sources without the token: %d, want 401", r.StatusCode)
	}
	out, err := runIn(t, "status", "--config", cfg, "--format", "json")
	if err != nil {
		t.Fatalf("status via the daemon: %v\n%s", err, out)
	}
	var rows []sourceStatus
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rows) != 2 || rows[0].Name != "good" || rows[0].Items != 2 || rows[1].Name != "moved" || !rows[1].Moved ||
		rows[1].URL != feeds.URL+"/new.xml" {
		t.Errorf("rows from the daemon: %+v", rows)
	}
}
