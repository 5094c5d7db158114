package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// benchContent makes benchmark items about as big as a real article
// summary with markup.
var benchContent = "<p>" + strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 20) + "</p>"

// benchItems returns n items of source with ids from start on, published
// a minute apart.
func benchItems(source string, start, n int) []tidings.Item {
	items := make([]tidings.Item, n)
	for i := range items {
		id := fmt.Sprintf("https://example.org/%s/%d", source, start+i)
		items[i] = tidings.Item{
			Source:     source,
			ID:         id,
			Title:      "Item " + id,
			Link:       id,
			Summary:    "A summary of " + id,
			Content:    benchContent,
			Categories: []string{"world", "economy"},
			Published:  t0.Add(time.Duration(start+i) * time.Minute),
		}
	}
	return items
}

// BenchmarkSavePoll measures one poll of 100 items: all new (a busy store
// growing), or all already stored (the common re-poll of a feed whose
// server ignores conditional GET).
func BenchmarkSavePoll(b *testing.B) {
	ctx := context.Background()
	b.Run("new", func(b *testing.B) {
		s := mustOpenStore(b)
		next := 0
		for b.Loop() {
			items := benchItems("src", next, 100)
			next += 100
			if _, err := s.SavePoll(ctx, "src", items, tidings.SourceState{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "items/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		s := mustOpenStore(b)
		items := benchItems("src", 0, 100)
		if _, err := s.SavePoll(ctx, "src", items, tidings.SourceState{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			saved, err := s.SavePoll(ctx, "src", items, tidings.SourceState{})
			if err != nil || saved.Unchanged != 100 {
				b.Fatalf("SavePoll = %+v, %v", saved, err)
			}
		}
	})
}

// BenchmarkNewest50 measures reading the 50 newest items of a store of
// 100,000, which is what serving the topic "all" costs before rendering.
func BenchmarkNewest50(b *testing.B) {
	ctx := context.Background()
	s := mustOpenStore(b)
	const sources, perSource, perPoll = 100, 1000, 1000
	for src := range sources {
		name := fmt.Sprintf("source-%03d", src)
		for start := 0; start < perSource; start += perPoll {
			// Interleave sources in time, as real feeds are.
			items := benchItems(name, start, perPoll)
			for i := range items {
				items[i].Published = items[i].Published.Add(time.Duration(src) * time.Second)
			}
			if _, err := s.SavePoll(ctx, name, items, tidings.SourceState{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if st := mustStats(b, s); st.Items != sources*perSource {
		b.Fatalf("store holds %d items, want %d", st.Items, sources*perSource)
	}
	for b.Loop() {
		n := 0
		err := s.Newest(ctx, func(*tidings.Item) bool {
			n++
			return n < 50
		})
		if err != nil || n != 50 {
			b.Fatalf("Newest walked %d items: %v", n, err)
		}
	}
}
