package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/fetcher"
	"github.com/tidings/tidings/storage"
)

// TestPollerUpdate checks what a reload does to the polling loops: a
// removed source's loop ends (so it is never requested again), a changed
// one restarts with its new URL and polls it at once (not when the old
// URL was due), an added one starts, and the others keep
// their loop.
func TestPollerUpdate(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	files := http.FileServer(http.Dir("../../examples/feeds"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	count := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return hits[path]
	}

	st, err := storage.Open(filepath.Join(t.TempDir(), "t.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newPoller(ctx, ctx, fetcher.New(fetcher.Options{Timeout: 5 * time.Second}), st, slog.New(slog.DiscardHandler))
	src := func(name, file string) tidings.Source {
		return tidings.Source{Name: name, URL: srv.URL + "/" + file, Interval: time.Hour}
	}
	p.update([]tidings.Source{src("a", "wsws.xml"), src("b", "wire.xml"), src("c", "ledger.xml")})
	// Once b and c have been polled, their stored state says "next poll in an hour".
	waitFor(t, "the first polls of b and c", func() bool {
		st, _, _ := st.SourceState(context.Background(), "c")
		return count("/wire.xml") > 0 && !st.NextPoll.IsZero()
	})

	p.mu.Lock()
	loopA, loopB, loopC := p.running["a"], p.running["b"], p.running["c"]
	p.mu.Unlock()
	p.update([]tidings.Source{src("a", "wsws.xml"), src("c", "orbit.xml"), src("d", "kernel.xml")})
	for name, l := range map[string]*sourceLoop{"b (removed)": loopB, "c (changed)": loopC} {
		select {
		case <-l.done:
		case <-time.After(20 * time.Second):
			t.Fatalf("the loop of %s did not end", name)
		}
	}
	select {
	case <-loopA.done:
		t.Fatalf("the loop of the unchanged source a ended")
	default:
	}
	p.mu.Lock()
	if p.running["a"] != loopA {
		t.Errorf("the unchanged source a got a new loop")
	}
	if _, ok := p.running["b"]; ok {
		t.Errorf("the removed source b still has a loop")
	}
	p.mu.Unlock()
	waitFor(t, "the added source d and the changed c to be polled", func() bool {
		return count("/kernel.xml") > 0 && count("/orbit.xml") > 0
	})

	cancel()
	if !p.wait(context.Background()) {
		t.Fatal("wait returned early")
	}
}

// TestReloadable checks which config changes a reload refuses.
func TestReloadable(t *testing.T) {
	base := func() *config.Config {
		c, err := config.Parse("t.yaml", []byte("server: {listen: '127.0.0.1:8080', admin_listen: '127.0.0.1:9090'}\nsources:\n  - {name: a, url: 'https://a.example/'}\n"), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := map[string]struct {
		edit func(c *config.Config)
		want string // in the error; "" for a change applied in place
	}{
		"nothing":          {func(*config.Config) {}, ""},
		"sources":          {func(c *config.Config) { c.Sources = nil }, ""},
		"fetch":            {func(c *config.Config) { c.Fetch.UserAgent = "x" }, ""},
		"admin token":      {func(c *config.Config) { c.Server.AdminToken = "x" }, ""},
		"base url":         {func(c *config.Config) { c.Server.BaseURL = "https://x.example" }, ""},
		"watch_config":     {func(c *config.Config) { c.Server.WatchConfig = false }, ""},
		"listen":           {func(c *config.Config) { c.Server.Listen = ":1" }, "server.listen changed"},
		"admin_listen":     {func(c *config.Config) { c.Server.AdminListen = "" }, "server.admin_listen changed"},
		"store path":       {func(c *config.Config) { c.Storage.Path = "/x.db" }, "storage.path changed"},
		"retention":        {func(c *config.Config) { c.Storage.Retention = 0 }, "storage.retention"},
		"items per source": {func(c *config.Config) { c.Storage.MaxItemsPerSource = 1 }, "max_items_per_source"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			next := base()
			tc.edit(next)
			err := reloadable(base(), next)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "restart")):
				t.Errorf("error %v, want one saying %q and to restart", err, tc.want)
			}
		})
	}
}

// tinyFeed writes a one-item RSS feed named after the request's path.
func tinyFeed(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	w.Header().Set("Content-Type", "application/rss+xml")
	fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>%[1]s</title><link>https://%[1]s.example/</link>`+
		`<item><title>News of %[1]s</title><link>https://%[1]s.example/1</link><guid>%[1]s-1</guid></item></channel></rss>`, name)
}

// queueRig is a poller over a real store whose first polls are all due at
// once, for the tests of its queue.
func queueRig(t *testing.T, sched, abort context.Context, concurrency, perHost int) (*poller, *storage.Store) {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "t.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := fetcher.New(fetcher.Options{Timeout: 10 * time.Second, Concurrency: concurrency, PerHost: perHost})
	p := newPoller(sched, abort, f, st, slog.New(slog.DiscardHandler))
	p.spread = 0
	return p, st
}

// sourcesAt names one source per name, polled hourly, at base/name.
func sourcesAt(base string, names ...string) []tidings.Source {
	out := make([]tidings.Source, len(names))
	for i, n := range names {
		out[i] = tidings.Source{Name: n, URL: base + "/" + n, Interval: time.Hour}
	}
	return out
}

// loopsOf returns the poller's entries for names, once every one of them
// waits in the queue (its first state read done).
func loopsOf(t *testing.T, p *poller, names ...string) []*sourceLoop {
	t.Helper()
	var out []*sourceLoop
	waitFor(t, fmt.Sprint(names, " queued"), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		out = out[:0]
		for _, n := range names {
			l := p.running[n]
			if l == nil || l.idx < 0 {
				return false
			}
			out = append(out, l)
		}
		return true
	})
	return out
}

// isDone reports whether a source's entry is done with, without waiting.
func isDone(l *sourceLoop) bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// TestPollerBoundsPolls checks that however many sources are due at once,
// no more polls are under way than workersPerSlot times the fetcher's
// concurrency, the store write and the after-poll work included, and no
// more requests than the concurrency. Each poll is held at its end
// until that many are held at once; the server counts, at each request,
// the polls started and not yet ended.
func TestPollerBoundsPolls(t *testing.T) {
	const slots, n = 3, 12
	const bound = workersPerSlot * slots // the fetches plus the polls storing
	var mu sync.Mutex
	started, ended, worst := 0, 0, 0
	active, worstActive := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		started++
		active++
		worst = max(worst, started-ended)
		worstActive = max(worstActive, active)
		mu.Unlock()
		tinyFeed(w, r)
		mu.Lock()
		active--
		mu.Unlock()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, _ := queueRig(t, ctx, ctx, slots, n) // one host; its limit is not what holds them
	held := make(chan string, n)
	release := make(chan struct{})
	p.onPoll = func(context.Context, tidings.Source, pollResult) {
		held <- ""
		<-release
		mu.Lock()
		ended++
		mu.Unlock()
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("s%02d", i)
	}
	p.update(sourcesAt(srv.URL, names...))

	holding := 0
	for done := 0; done < n; done++ {
		for holding < min(bound, n-done) {
			select {
			case <-held:
				holding++
			case <-time.After(20 * time.Second):
				t.Fatalf("gave up waiting for %d polls held at once (%d done)", min(bound, n-done), done)
			}
		}
		if done == 0 {
			// What the metrics show: the rest wait, due, for a worker.
			if due, inFlight := p.load(time.Now()); due != n-bound || inFlight != bound {
				t.Errorf("load = %d due, %d in flight; want %d, %d", due, inFlight, n-bound, bound)
			}
		}
		release <- struct{}{}
		holding--
	}
	cancel()
	if !p.wait(context.Background()) {
		t.Fatal("wait returned early")
	}
	mu.Lock()
	defer mu.Unlock()
	if started != n {
		t.Errorf("%d requests, want one per source (%d)", started, n)
	}
	if worst != bound {
		t.Errorf("at most %d polls were under way at once, want the bound, %d", worst, bound)
	}
	if worstActive > slots {
		t.Errorf("%d requests at once, want at most the fetch slots, %d", worstActive, slots)
	}
}

// TestPollerHostFairness checks that the sources of a host whose slot is
// busy do not hold the workers: with one slot per host and two workers,
// while the slow host's first request hangs, the other host's sources
// are all polled, and the slow host never gets a second request at once.
func TestPollerHostFairness(t *testing.T) {
	var mu sync.Mutex
	slowStarted, slowEnded, slowWorst, fast := 0, 0, 0, 0
	unblock := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		slowStarted++
		slowWorst = max(slowWorst, slowStarted-slowEnded)
		mu.Unlock()
		<-unblock
		tinyFeed(w, r)
		mu.Lock()
		slowEnded++
		mu.Unlock()
	}))
	defer slow.Close()
	var once sync.Once
	release := func() { once.Do(func() { close(unblock) }) }
	defer release() // before slow.Close, which waits for its handlers
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fast++
		mu.Unlock()
		tinyFeed(w, r)
	}))
	defer quick.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, st := queueRig(t, ctx, ctx, 2, 1)
	// The slow host's sources sort first, so they are due first.
	srcs := append(sourcesAt(slow.URL, "a1", "a2", "a3", "a4", "a5", "a6"), sourcesAt(quick.URL, "b1", "b2", "b3")...)
	p.update(srcs)
	stored := func(names ...string) bool {
		for _, n := range names {
			s, _, _ := st.SourceState(context.Background(), n)
			if s.LastSuccess.IsZero() {
				return false
			}
		}
		return true
	}
	waitFor(t, "the quick host's sources polled while the slow host hangs", func() bool { return stored("b1", "b2", "b3") })
	mu.Lock()
	if slowStarted != 1 || slowEnded != 0 {
		t.Errorf("slow host: %d requests started, %d ended; want the one its slot allows, still hanging", slowStarted, slowEnded)
	}
	mu.Unlock()
	release()
	waitFor(t, "the slow host's sources polled", func() bool { return stored("a1", "a2", "a3", "a4", "a5", "a6") })
	cancel()
	p.wait(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if slowWorst != 1 || fast != 3 {
		t.Errorf("slow host had up to %d requests at once (want 1, its per-host limit); quick host %d requests (want 3)", slowWorst, fast)
	}
}

// holdingServer serves tiny feeds, counts requests per path and holds the
// request for hold until release is closed.
func holdingServer(t *testing.T, hold string) (srv *httptest.Server, hits func(path string) int, release func()) {
	var mu sync.Mutex
	count := map[string]int{}
	ch := make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		count[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == hold {
			<-ch
		}
		tinyFeed(w, r)
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(srv.Close)
	t.Cleanup(release) // runs first: Close waits for the held handler
	return srv, func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return count[path]
	}, release
}

// TestPollerReloadDropsQueued checks that a reload drops the queued polls
// of removed and changed sources at once, without polling them, while
// the one worker is busy.
func TestPollerReloadDropsQueued(t *testing.T) {
	srv, hits, release := holdingServer(t, "/x1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, _ := queueRig(t, ctx, ctx, 1, 1)
	p.update(sourcesAt(srv.URL, "x1", "x2", "x3", "x4", "x5"))
	waitFor(t, "x1's request", func() bool { return hits("/x1") == 1 })
	queued := loopsOf(t, p, "x2", "x3", "x4", "x5")
	if got := p.polling(); !slices.Equal(got, []string{"x1"}) {
		t.Errorf("polling() = %v, want [x1]", got)
	}

	changed := sourcesAt(srv.URL, "x1", "x6")
	changed = append(changed, tidings.Source{Name: "x5", URL: srv.URL + "/x5b", Interval: time.Hour})
	p.update(changed)
	for _, l := range queued {
		if !isDone(l) {
			t.Errorf("the queued poll of %s (removed or changed) was not dropped by the reload", l.src.Name)
		}
	}
	release()
	waitFor(t, "the changed x5 and the added x6 polled", func() bool { return hits("/x5b") == 1 && hits("/x6") == 1 })
	// Queued polls go earliest due first, so a poll of x2..x5 left in the
	// queue would have come before those.
	for _, path := range []string{"/x2", "/x3", "/x4", "/x5"} {
		if n := hits(path); n != 0 {
			t.Errorf("%s requested %d times after its source was removed or changed", path, n)
		}
	}
	cancel()
	p.wait(context.Background())
}

// TestPollerShutdownWithQueued checks a shutdown while polls are queued
// behind one in flight: the queued ones are dropped at once and never
// started; the one in flight is stored if it finishes within the grace
// period, and cancelled unstored when the grace period ends first.
func TestPollerShutdownWithQueued(t *testing.T) {
	for _, abortFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "in flight finishes", true: "grace over"}[abortFirst], func(t *testing.T) {
			srv, hits, release := holdingServer(t, "/y1")
			sched, stopSched := context.WithCancel(context.Background())
			defer stopSched()
			abort, abortPolls := context.WithCancel(context.Background())
			defer abortPolls()
			p, st := queueRig(t, sched, abort, 1, 1)
			p.update(sourcesAt(srv.URL, "y1", "y2", "y3", "y4"))
			waitFor(t, "y1's request", func() bool { return hits("/y1") == 1 })
			queued := loopsOf(t, p, "y2", "y3", "y4")

			stopSched()
			waitFor(t, "the queued polls dropped", func() bool {
				return isDone(queued[0]) && isDone(queued[1]) && isDone(queued[2])
			})
			if got := p.polling(); !slices.Equal(got, []string{"y1"}) {
				t.Errorf("polling() = %v while y1's poll is in flight, want [y1]", got)
			}
			if abortFirst {
				abortPolls()
			} else {
				release()
			}
			if !p.wait(context.Background()) {
				t.Fatal("wait returned early")
			}
			_, found, err := st.SourceState(context.Background(), "y1")
			if err != nil || found == abortFirst {
				t.Errorf("y1's state stored: %v (err %v), want %v", found, err, !abortFirst)
			}
			for _, name := range []string{"y2", "y3", "y4"} {
				if n := hits("/" + name); n != 0 {
					t.Errorf("%s requested %d times after shutdown began", name, n)
				}
				if _, found, _ := st.SourceState(context.Background(), name); found {
					t.Errorf("%s has a stored state: its queued poll ran", name)
				}
			}
		})
	}
}
