package storage

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// mustPrune prunes and fails the test on error.
func mustPrune(tb testing.TB, s *Store) int {
	tb.Helper()
	n, err := s.Prune(context.Background())
	if err != nil {
		tb.Fatalf("Prune: %v", err)
	}
	return n
}

// pick returns the items of all whose IDs are given, in that order.
func pick(all []tidings.Item, ids ...string) []tidings.Item {
	items := []tidings.Item{}
	for _, id := range ids {
		for _, it := range all {
			if it.ID == id {
				items = append(items, it)
			}
		}
	}
	return items
}

func TestPruneByRetentionAndTombstones(t *testing.T) {
	clk := &clock{t: t0}
	s := mustOpenStore(t, Options{Now: clk.Now, Retention: 24 * time.Hour})
	all := itemsOf("a", "x", 3) // x0 x1 x2
	mustSave(t, s, "a", pick(all, "x0", "x1"))
	mustSave(t, s, "b", itemsOf("b", "y", 1))
	clk.Advance(12 * time.Hour)
	mustSave(t, s, "a", pick(all, "x0", "x1", "x2"))

	if n := mustPrune(t, s); n != 0 {
		t.Fatalf("Prune within retention deleted %d", n)
	}
	clk.Advance(13 * time.Hour) // x0, x1 and b's y0 were first seen 25h ago
	gen := s.Generation()
	if n := mustPrune(t, s); n != 3 {
		t.Fatalf("Prune deleted %d, want 3", n)
	}
	if s.Generation() == gen {
		t.Error("Generation did not move when Prune deleted items")
	}
	if got := newestKeys(t, s); !slices.Equal(got, []string{"a/x2"}) {
		t.Errorf("after Prune the store holds %v, want a/x2", got)
	}
	checkIndexes(t, s)

	// Each step is one poll of source a; the tombstones count is the store's.
	steps := []struct {
		name           string
		items          []tidings.Item
		want           Saved
		wantTombstones int
		wantStored     []string
	}{
		{"still listed: not re-added", pick(all, "x0", "x1", "x2"),
			Saved{Unchanged: 1, Tombstoned: 2}, 3, []string{"a/x2"}},
		{"not modified: tombstones stay", nil,
			Saved{}, 3, []string{"a/x2"}},
		{"x0 no longer listed: its tombstone goes", pick(all, "x2", "x1"),
			Saved{Unchanged: 1, Tombstoned: 1}, 2, []string{"a/x2"}},
		{"x0 listed again later: it is new", pick(all, "x0", "x1", "x2"),
			Saved{New: 1, Unchanged: 1, Tombstoned: 1}, 2, []string{"a/x0", "a/x2"}},
		{"empty listing drops a's tombstones", []tidings.Item{},
			Saved{}, 1, []string{"a/x0", "a/x2"}},
		{"x1 back after the empty listing", pick(all, "x1"),
			Saved{New: 1}, 1, []string{"a/x0", "a/x1", "a/x2"}},
	}
	for _, st := range steps {
		got := mustSave(t, s, "a", st.items)
		if got != st.want {
			t.Errorf("%s: Saved = %+v, want %+v", st.name, got, st.want)
		}
		if n := mustTombstones(t, s); n != st.wantTombstones {
			t.Errorf("%s: %d tombstones, want %d", st.name, n, st.wantTombstones)
		}
		stored := newestKeys(t, s)
		slices.Sort(stored)
		if !slices.Equal(stored, st.wantStored) {
			t.Errorf("%s: store holds %v, want %v", st.name, stored, st.wantStored)
		}
	}
	checkIndexes(t, s)
	// b's tombstone was untouched by a's listings.
	if got := mustSave(t, s, "b", itemsOf("b", "y", 1)); got != (Saved{Tombstoned: 1}) {
		t.Errorf("b relisting its pruned item = %+v, want 1 tombstoned", got)
	}
}

func TestPruneByRetentionCrossesBatches(t *testing.T) {
	defer func(n int) { pruneBatch = n }(pruneBatch)
	pruneBatch = 3
	clk := &clock{t: t0}
	s := mustOpenStore(t, Options{Now: clk.Now, Retention: time.Hour})
	mustSave(t, s, "a", itemsOf("a", "old", 7))
	clk.Advance(2 * time.Hour)
	mustSave(t, s, "a", append(itemsOf("a", "old", 7), itemsOf("a", "new", 2)...))
	if n := mustPrune(t, s); n != 7 {
		t.Errorf("Prune deleted %d, want all 7 old items across batches of 3", n)
	}
	if st, tombs := mustStats(t, s), mustTombstones(t, s); st.Items != 2 || tombs != 7 {
		t.Errorf("Stats = %+v and %d tombstones, want 2 items, 7 tombstones", st, tombs)
	}
	checkIndexes(t, s)
}

func TestPruneMaxItemsPerSource(t *testing.T) {
	clk := &clock{t: t0}
	s := mustOpenStore(t, Options{Now: clk.Now, MaxItemsPerSource: 2})
	a := itemsOf("a", "x", 5) // x0 newest … x4 oldest by Published
	// Saved in one poll but first seen in reverse: Published decides.
	for i := range a {
		a[i].FirstSeen = t0.Add(time.Duration(-i) * time.Minute)
	}
	mustSave(t, s, "a", a)
	mustSave(t, s, "b", itemsOf("b", "y", 2))
	tie := itemsOf("c", "z", 3)
	for i := range tie {
		tie[i].Published = t0 // a tie: FirstSeen, then ID decides
	}
	mustSave(t, s, "c", tie)

	if n := mustPrune(t, s); n != 4 {
		t.Fatalf("Prune deleted %d, want 3 of a and 1 of c", n)
	}
	stored := newestKeys(t, s)
	// x0, y0 and the z's tie on Published and FirstSeen: source, then ID
	// descending; y1 was first seen after x1.
	want := []string{"c/z2", "c/z1", "b/y0", "a/x0", "b/y1", "a/x1"}
	if !slices.Equal(stored, want) {
		t.Errorf("after Prune the store holds %v, want %v", stored, want)
	}
	st := mustStats(t, s)
	if tombs := mustTombstones(t, s); st.PerSource["a"] != 2 || st.PerSource["b"] != 2 || st.PerSource["c"] != 2 || tombs != 4 {
		t.Errorf("Stats = %+v and %d tombstones, want 2 per source and 4 tombstones", st, tombs)
	}
	checkIndexes(t, s)

	if got := mustSave(t, s, "a", a); got != (Saved{Unchanged: 2, Tombstoned: 3}) {
		t.Errorf("relisting a = %+v, want 2 unchanged, 3 tombstoned", got)
	}
	if n := mustPrune(t, s); n != 0 {
		t.Errorf("second Prune deleted %d, want 0", n)
	}
	// a stops listing x4; when it comes back it is new, and the newest
	// two stay.
	mustSave(t, s, "a", a[:4])
	if got := mustSave(t, s, "a", a); got != (Saved{New: 1, Unchanged: 2, Tombstoned: 2}) {
		t.Errorf("x4 listed again after a gap = %+v, want it new", got)
	}
	gen := s.Generation()
	if n := mustPrune(t, s); n != 1 {
		t.Errorf("Prune deleted %d, want the re-added x4", n)
	}
	if s.Generation() == gen {
		t.Error("Generation did not move when Prune deleted an item")
	}
	checkIndexes(t, s)
}

func TestRemoveSource(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: t0}
	s := mustOpenStore(t, Options{Now: clk.Now, MaxItemsPerSource: 2})
	mustSave(t, s, "a", itemsOf("a", "x", 3))
	mustSave(t, s, "ab", itemsOf("ab", "x", 1)) // shares a's name as a prefix
	mustPrune(t, s)                             // tombstones a's x2
	gen := s.Generation()

	if err := s.RemoveSource(ctx, "a"); err != nil {
		t.Fatalf("RemoveSource: %v", err)
	}
	if s.Generation() == gen {
		t.Error("Generation did not move when RemoveSource deleted items")
	}
	if got := newestKeys(t, s); !slices.Equal(got, []string{"ab/x0"}) {
		t.Errorf("after RemoveSource the store holds %v, want ab/x0", got)
	}
	if _, err := s.Item(ctx, "a", "x0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Item of removed source = %v, want ErrNotFound", err)
	}
	if _, ok, err := s.SourceState(ctx, "a"); ok || err != nil {
		t.Errorf("state of removed source: found %v, %v", ok, err)
	}
	if _, ok, _ := s.SourceState(ctx, "ab"); !ok {
		t.Error("RemoveSource(a) removed the state of ab")
	}
	st := mustStats(t, s)
	if _, ok := st.PerSource["a"]; ok || st.Items != 1 || mustTombstones(t, s) != 0 {
		t.Errorf("Stats after RemoveSource = %+v, %d tombstones", st, mustTombstones(t, s))
	}
	checkIndexes(t, s)
	// The source added again starts afresh: its pruned item is new.
	if got := mustSave(t, s, "a", itemsOf("a", "x", 3)); got != (Saved{New: 3}) {
		t.Errorf("source added again = %+v, want 3 new", got)
	}
	// Removing a source that was never stored is not an error.
	gen = s.Generation()
	if err := s.RemoveSource(ctx, "never"); err != nil {
		t.Errorf("RemoveSource of unknown source: %v", err)
	}
	if s.Generation() != gen {
		t.Error("Generation moved although nothing was removed")
	}
}
