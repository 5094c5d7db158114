package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// t0 is the start of every test clock: a fixed instant keeps failures
// reproducible.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock for Options.Now.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// storePath returns a path for a store in a fresh temporary folder. The
// folder "data" does not exist yet, so Open must create it.
func storePath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "data", "tidings.db")
}

// mustOpenStore opens a store at storePath with opts (a zero Options if
// none) and closes it when the test ends.
func mustOpenStore(tb testing.TB, opts ...Options) *Store {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	return mustOpenAt(tb, storePath(tb), o)
}

// mustOpenAt opens the store at path and closes it when the test ends.
func mustOpenAt(tb testing.TB, path string, opts Options) *Store {
	tb.Helper()
	s, err := Open(path, opts)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// newItem returns an item of source with a distinct title and content.
func newItem(source, id string, published time.Time) tidings.Item {
	return tidings.Item{
		Source:    source,
		ID:        id,
		Title:     "Title of " + id,
		Link:      "https://example.org/" + id,
		Summary:   "Summary of " + id,
		Content:   "<p>Content of " + id + "</p>",
		Published: published,
	}
}

// itemsOf returns n items of source, published an hour apart going back
// from t0, with ids prefix0, prefix1, ...
func itemsOf(source, prefix string, n int) []tidings.Item {
	items := make([]tidings.Item, n)
	for i := range items {
		items[i] = newItem(source, fmt.Sprintf("%s%d", prefix, i), t0.Add(-time.Duration(i)*time.Hour))
	}
	return items
}

// mustSave saves a poll and fails the test on error.
func mustSave(tb testing.TB, s *Store, source string, items []tidings.Item) Saved {
	tb.Helper()
	saved, err := s.SavePoll(context.Background(), source, items, tidings.SourceState{Name: source})
	if err != nil {
		tb.Fatalf("SavePoll(%q, %d items): %v", source, len(items), err)
	}
	return saved
}

// newestKeys returns "source/id" of every stored item in Newest order.
func newestKeys(tb testing.TB, s *Store) []string {
	tb.Helper()
	var keys []string
	err := s.Newest(context.Background(), func(it *tidings.Item) bool {
		keys = append(keys, it.Source+"/"+it.ID)
		return true
	})
	if err != nil {
		tb.Fatalf("Newest: %v", err)
	}
	return keys
}

// mustStats returns the store's stats and fails the test on error.
func mustStats(tb testing.TB, s *Store) Stats {
	tb.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		tb.Fatalf("Stats: %v", err)
	}
	return st
}

func mustTombstones(tb testing.TB, s *Store) int {
	tb.Helper()
	n, err := s.Tombstones(context.Background())
	if err != nil {
		tb.Fatalf("Tombstones: %v", err)
	}
	return n
}

// checkIndexes fails the test unless every index and count agrees with the
// items bucket (Store.Verify).
func checkIndexes(tb testing.TB, s *Store) {
	tb.Helper()
	if err := s.Verify(context.Background()); err != nil {
		tb.Fatal(err)
	}
}
