package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/storage"
)

var (
	benchStoreItems = flag.Int("bench.items", 1_000_000, "items in the store of BenchmarkTopicFeed")
	benchPollN      = flag.Int("bench.poll", 100, "items per poll (per write transaction) when BenchmarkTopicFeed builds its store")
)

// benchWords is the vocabulary of generated items; "mexico" is rare, so
// the topic "mexico" holds about 2% of the store.
var benchWords = strings.Fields(`council vote budget city residents school road bridge water power plant
workers union strike wages talks court ruling judge appeal police report minister government election
party campaign poll market shares bank rates inflation prices trade tariffs steel exports imports port
storm rain flood fire heat drought farmers harvest hospital doctors patients vaccine study scientists
space launch satellite telescope team match goal season coach players fans stadium film festival music`)

// benchSetup writes a config with a thousand sources and four topics.
func benchSetup(b *testing.B, dir string) *setup {
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "storage: {path: ./bench.db, max_items_per_source: 0, retention: 0}\nsources:\n")
	for i := range 1000 {
		fmt.Fprintf(&cfg, "  - {name: src%04d, url: 'https://src%04d.example/feed', tags: [t%d]}\n", i, i, i%10)
	}
	cfg.WriteString("topics:\n  - {name: mexico, query: 'mexico OR usmca'}\n  - {name: strikes, query: 'strike AND (union OR workers)'}\n  - {name: tagged, tags: [t3]}\n")
	path := filepath.Join(dir, "tidings.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := loadSetup(path)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchPoll returns one poll of n items of a source, published one after
// another from since on, step apart: as in real polls, each brings the
// source's newest items, so the time indexes grow at their end.
func benchPoll(rng *rand.Rand, source string, n, first int, since time.Time, step time.Duration) []tidings.Item {
	items := make([]tidings.Item, n)
	for i := range items {
		k := first + i
		var text strings.Builder
		for range 40 {
			text.WriteString(benchWords[rng.IntN(len(benchWords))])
			text.WriteByte(' ')
		}
		if rng.IntN(50) == 0 {
			text.WriteString("mexico ")
		}
		link := fmt.Sprintf("https://%s.example/story/%d", source, k)
		published := since.Add(time.Duration(i) * step)
		items[i] = tidings.Item{
			Source: source, ID: link, Link: link, CanonicalLink: link,
			Title:     fmt.Sprintf("Story %d: %s %s", k, benchWords[rng.IntN(len(benchWords))], benchWords[rng.IntN(len(benchWords))]),
			Summary:   "<p>" + text.String() + "</p>",
			Published: published,
			FirstSeen: published.Add(time.Minute),
		}
	}
	return items
}

// BenchmarkTopicFeed builds a store of -bench.items items (default a
// million) through SavePoll with three topics indexed, reporting the ingest
// rate, then measures rendering a 50-item RSS topic feed from it, cache
// bypassed: from the topic index ("indexed"), and by walking the whole
// store newest first as Tidings 1.0 did ("scan", the baseline).
func BenchmarkTopicFeed(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s := benchSetup(b, dir)
	st, err := openStore(s.cfg, false)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := indexTopics(ctx, st, s); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	perSource, perPoll := *benchStoreItems/1000, *benchPollN
	// The store spans the last 30 days; polls come in time order.
	step := 30 * 24 * time.Hour / time.Duration(*benchStoreItems)
	at := time.Now().UTC().Add(-30 * 24 * time.Hour)
	start := time.Now()
	var ingestDur time.Duration
	for first := 0; first < perSource; first += perPoll {
		for i := range 1000 {
			name := fmt.Sprintf("src%04d", i)
			n := min(perPoll, perSource-first)
			items := benchPoll(rng, name, n, first, at, step)
			at = at.Add(time.Duration(n) * step)
			t := time.Now()
			if _, err := st.SavePoll(ctx, name, items, tidings.SourceState{}); err != nil {
				b.Fatal(err)
			}
			ingestDur += time.Since(t)
		}
	}
	stats, _ := st.Stats(ctx)
	fi, _ := os.Stat(filepath.Join(dir, "bench.db"))
	b.Logf("built %d items in %s (SavePoll alone: %s, %.0f items/s); file %d MB", stats.Items,
		time.Since(start).Round(time.Second), ingestDur.Round(time.Second), float64(stats.Items)/ingestDur.Seconds(), fi.Size()>>20)

	for _, topic := range []string{"mexico", "strikes", "tagged"} {
		walked, skipped := 0, 0
		sel := feeds.NewSelector(s.byName[topic], 50)
		sel.StopEarly()
		skip := func(h storage.TopicHint) bool {
			if sel.Skips(feeds.Hint{Published: h.Published, FirstSeen: h.FirstSeen, Fingerprint: h.Fingerprint, LinkHash: h.LinkHash}) {
				skipped++
				return true
			}
			return false
		}
		err := st.TopicNewestSkip(ctx, topic, "", skip, func(it *tidings.Item) bool { walked++; return sel.Add(it) })
		b.Logf("topic %s: a page reads %d items of its index, passes over %d more by their hints (%v)", topic, walked, skipped, err)
	}
	pub := newPublisher(st, s, slog.New(slog.DiscardHandler))
	pages := map[string][]byte{}       // each topic's page without hints, to compare
	b.Run("meta", func(b *testing.B) { // naming every source: at most once per store generation
		for b.Loop() {
			m := pub.buildMeta(s)
			for _, src := range s.cfg.Sources {
				pub.nameSource(ctx, s, &m, src.Name)
			}
		}
	})
	for _, topic := range []string{"mexico", "strikes", "tagged"} {
		for _, hints := range []bool{false, true} {
			name := topic + "/indexed"
			if !hints {
				name += "-nohints" // every item of the horizon read: the figure before
			}
			b.Run(name, func(b *testing.B) {
				topicHints = hints
				defer func() { topicHints = true }()
				for b.Loop() {
					// Drop the rendered documents and the selections they
					// were rendered from (not the source metadata, shared by
					// all documents of one store generation), so that every
					// iteration walks the index.
					pub.mu.Lock()
					pub.cache = map[cacheKey]*rendered{}
					pub.selected = nil
					pub.mu.Unlock()
					doc, err := pub.topicFeed(ctx, topic, feeds.RSS, 50)
					if err != nil || doc == nil || bytes.Count(doc.body, []byte("<item>")) != 50 {
						b.Fatalf("topicFeed(%s): %v", topic, err)
					}
					if hints {
						if want, ok := pages[topic]; ok && !bytes.Equal(doc.body, want) {
							b.Fatalf("topicFeed(%s) with hints differs from without", topic)
						}
					} else {
						pages[topic] = doc.body
					}
				}
				b.ReportMetric(float64(stats.Items)/ingestDur.Seconds(), "ingest-items/s")
			})
		}
		b.Run(topic+"/scan", func(b *testing.B) {
			t := s.byName[topic]
			for b.Loop() {
				sel := feeds.NewSelector(t, 50)
				sel.StopEarly()
				err := st.Newest(ctx, func(it *tidings.Item) bool { return sel.Add(it) })
				if err != nil || len(sel.Entries()) != 50 {
					b.Fatalf("scan: %v", err)
				}
			}
		})
	}
}
