package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/storage"
)

// The benchmarks here measure the serving path as the daemon runs it: the
// publisher's cache, rendering on a miss, and the HTTP handler. They build a
// small store of their own (benchSources × benchItems); to measure a big
// one, point TIDINGS_BENCH_CONFIG at a config whose store is filled, as
// bench/render/run.sh does with 1,000,000 items. That store gets a few new
// items from each run.

const benchSources, benchItems = 100, 100

// benchParagraph is article-like text with the words the topics look for.
const benchParagraph = "<p>Washington is ramping up aggression against Mexico. This is reflected along three axes: " +
	"its war proclaimed against Mexican drug cartels, its push for Mexico to abandon its longstanding relations " +
	"with Cuba, and its threats to scrap the <a href=\"https://example.org/usmca\">USMCA</a> trade pact.</p>\n"

// benchPublisher opens the store of TIDINGS_BENCH_CONFIG, or fills a new
// one, and returns the daemon's publisher and HTTP handler over it.
func benchPublisher(b testing.TB) (*publisher, http.Handler, *storage.Store) {
	b.Helper()
	path := os.Getenv("TIDINGS_BENCH_CONFIG")
	fill := path == ""
	if fill {
		path = writeBenchConfig(b)
	}
	s, err := loadSetup(path)
	if err != nil {
		b.Fatal(err)
	}
	st, err := openStore(s.cfg, false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	// As serve does: the store keeps each topic's index up to date only for
	// the topics it was told about; without this, a write would leave every
	// index stale and renders would measure the full-scan fallback.
	if err := indexTopics(context.Background(), st, s); err != nil {
		b.Fatal(err)
	}
	if fill {
		ctx := context.Background()
		for i := range benchSources {
			name := fmt.Sprintf("s%05d", i)
			if _, err := st.SavePoll(ctx, name, benchPosts(name, 0, benchItems), tidings.SourceState{Name: name}); err != nil {
				b.Fatal(err)
			}
		}
	}
	log := slog.New(slog.DiscardHandler)
	pub := newPublisher(st, s, log)
	srv := &server{pub: pub, store: st, log: log, metrics: newMetrics(st), adminToken: func() string { return "" }}
	srv.ready.Store(true)
	return pub, srv.routes(), st
}

func writeBenchConfig(b testing.TB) string {
	var sb strings.Builder
	sb.WriteString("storage: {path: ./bench.db, retention: 0, max_items_per_source: 0}\nserver: {listen: 127.0.0.1:8090, watch_config: false}\nsources:\n")
	for i := range benchSources {
		fmt.Fprintf(&sb, "  - {name: s%05d, url: \"file://./feeds/s%05d.xml\", tags: [%s]}\n", i, i, []string{"world", "economy"}[i%2])
	}
	sb.WriteString(`topics:
  - {name: all}
  - {name: mexico, query: 'mexico OR sheinbaum OR usmca'}
  - {name: one, sources: [s00000]}
`)
	path := filepath.Join(b.TempDir(), "tidings.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchPosts returns n items of source with ids from start on; one in three
// is about Mexico. Sources interleave in time, as real feeds do.
func benchPosts(source string, start, n int) []tidings.Item {
	items := make([]tidings.Item, n)
	for i := range items {
		id := fmt.Sprintf("https://%s.example/articles/%d", source, start+i)
		content := strings.Repeat(strings.ReplaceAll(benchParagraph, "Mexico", []string{"Mexico", "Canada", "Brazil"}[(start+i)%3]), 5)
		items[i] = tidings.Item{
			Source: source, ID: id, Link: id,
			Title:      fmt.Sprintf("Story %d of %s", start+i, source),
			Content:    content,
			Categories: []string{"World", "Trade"},
			Published:  time.Date(2026, 2, 3, 12, 0, 0, 0, time.UTC).Add(time.Duration(start+i)*time.Hour + time.Duration(len(source))*time.Second),
		}
	}
	return items
}

// benchStory returns the text of a new story: benchParagraph's words in an
// order of their own, so that each has its own fingerprint, as the stories
// one source publishes in a day do. Copies of one text, near each other,
// would all be kept as possible copies of the page's stories.
func benchStory(seed int) string {
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(benchParagraph, "")
	words := strings.Fields(strings.Repeat(text, 3))
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	return "<p>" + strings.Join(words, " ") + "</p>"
}

// discardWriter is a ResponseWriter that keeps only the headers and status,
// so the handler's own cost is what is measured.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkServeTopic measures one request for a cached topic feed through
// the daemon's handler: with the body (200), and revalidated (304).
func BenchmarkServeTopic(b *testing.B) {
	_, h, _ := benchPublisher(b)
	req := httptest.NewRequest(http.MethodGet, "/topics/all.rss", nil)
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req) // fill the cache
	etag := w.h.Get("ETag")
	cases := map[string]struct {
		header string
		code   int
	}{
		"200": {"", http.StatusOK},
		"304": {etag, http.StatusNotModified},
	}
	for name, c := range cases {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/topics/all.rss", nil)
			if c.header != "" {
				req.Header.Set("If-None-Match", c.header)
			}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			if w.code != c.code {
				b.Fatalf("status %d, want %d", w.code, c.code)
			}
		})
	}
}

// BenchmarkRenderAfterChange measures what the first request after a poll
// costs: a new item is stored (not timed), then the topic is rendered on a
// cache miss (timed). It reports the median and 99th percentile render time.
func BenchmarkRenderAfterChange(b *testing.B) {
	pub, _, st := benchPublisher(b)
	ctx := context.Background()
	topics := []string{"all", "mexico", "one"}
	next := 1_000_000 + time.Now().Nanosecond() // ids this run has not stored yet
	// New items are published a second apart just after the newest stored
	// one: a page is then the newest items with the store's own density of
	// items behind it, as after a poll. (At time.Now() they would sit far
	// above a generated store's items, and after 50 renders every page
	// would be the benchmark's own items with nothing within a day of them.)
	var newest time.Time
	if err := st.Newest(ctx, func(it *tidings.Item) bool { newest = it.Published; return false }); err != nil {
		b.Fatal(err)
	}
	stored := 0
	for _, topic := range topics {
		if _, ok := pub.current().byName[topic]; !ok {
			b.Fatalf("the config has no topic %q", topic)
		}
		b.Run(topic, func(b *testing.B) {
			// One thread, so that threadCPU is the render's own CPU time
			// (garbage collection on other threads aside): on a busy
			// machine the wall time also counts the waits for a core.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var times, cpu []time.Duration
			for b.Loop() {
				it := benchPosts("s00000", next, 1)
				stored++
				it[0].Published = newest.Add(time.Duration(stored) * time.Second)
				it[0].Content = benchStory(next)
				next++
				if _, err := st.SavePoll(ctx, "s00000", it, tidings.SourceState{Name: "s00000"}); err != nil {
					b.Fatal(err)
				}
				start, startCPU := time.Now(), threadCPU()
				doc, err := pub.topicFeed(ctx, topic, feeds.RSS, 0)
				times = append(times, time.Since(start))
				cpu = append(cpu, threadCPU()-startCPU)
				if err != nil || doc == nil {
					b.Fatalf("topicFeed(%q) = %v, %v", topic, doc, err)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
			slices.Sort(cpu)
			b.ReportMetric(float64(cpu[len(cpu)/2].Microseconds())/1000, "cpu-p50-ms")
			b.ReportMetric(float64(cpu[len(cpu)*99/100].Microseconds())/1000, "cpu-p99-ms")
		})
	}
}
