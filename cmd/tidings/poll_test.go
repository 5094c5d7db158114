package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
