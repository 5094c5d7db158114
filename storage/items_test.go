package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

func TestSavePollResaveAddsNothing(t *testing.T) {
	clk := &clock{t: t0}
	s := mustOpenStore(t, Options{Now: clk.Now})
	if got := mustSave(t, s, "a", itemsOf("a", "x", 5)); got != (Saved{New: 5}) {
		t.Fatalf("first save = %+v, want 5 new", got)
	}
	gen := s.Generation()
	if gen == 0 {
		t.Error("Generation did not move when items were added")
	}
	clk.Advance(time.Hour)
	// Fresh copies, with the feed's own update time moved and empty
	// instead of nil slices: neither is a change of content.
	again := itemsOf("a", "x", 5)
	for i := range again {
		again[i].Updated = clk.t
		again[i].Categories = []string{}
	}
	if got := mustSave(t, s, "a", again); got != (Saved{Unchanged: 5}) {
		t.Errorf("re-save = %+v, want 5 unchanged", got)
	}
	if s.Generation() != gen {
		t.Errorf("Generation moved from %d to %d on a save that changed nothing", gen, s.Generation())
	}
	st := mustStats(t, s)
	if st.Items != 5 || !st.LastChange.Equal(t0) {
		t.Errorf("Stats = %+v, want 5 items last changed at %v", st, t0)
	}
	it, err := s.Item(context.Background(), "a", "x0")
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	if !it.Updated.IsZero() {
		t.Errorf("unchanged item got Updated %v", it.Updated)
	}
	checkIndexes(t, s)
}

func TestSavePollEditUpdatesInPlace(t *testing.T) {
	published := t0.Add(-24 * time.Hour)
	editedAt := t0.Add(2 * time.Hour) // the clock at the second save
	tests := map[string]struct {
		edit        func(it *tidings.Item)
		changed     bool
		wantUpdated time.Time
	}{
		"title":      {edit: func(it *tidings.Item) { it.Title = "New title" }, changed: true, wantUpdated: editedAt},
		"link":       {edit: func(it *tidings.Item) { it.Link = "https://example.org/moved" }, changed: true, wantUpdated: editedAt},
		"summary":    {edit: func(it *tidings.Item) { it.Summary = "New summary" }, changed: true, wantUpdated: editedAt},
		"content":    {edit: func(it *tidings.Item) { it.Content = "<p>corrected</p>" }, changed: true, wantUpdated: editedAt},
		"authors":    {edit: func(it *tidings.Item) { it.Authors = []tidings.Person{{Name: "Ann"}} }, changed: true, wantUpdated: editedAt},
		"categories": {edit: func(it *tidings.Item) { it.Categories = []string{"world"} }, changed: true, wantUpdated: editedAt},
		"enclosures": {edit: func(it *tidings.Item) {
			it.Enclosures = []tidings.Enclosure{{URL: "https://example.org/a.mp3"}}
		}, changed: true, wantUpdated: editedAt},
		"image": {edit: func(it *tidings.Item) { it.Image = "https://example.org/a.png" }, changed: true, wantUpdated: editedAt},
		"content with the feed's later update time": {
			edit: func(it *tidings.Item) {
				it.Content = "<p>corrected</p>"
				it.Updated = t0.Add(time.Hour)
			},
			changed: true, wantUpdated: t0.Add(time.Hour),
		},
		"content with an update time in the future": {
			edit: func(it *tidings.Item) {
				it.Content = "<p>corrected</p>"
				it.Updated = t0.Add(48 * time.Hour)
			},
			changed: true, wantUpdated: editedAt,
		},
		"content with an update time before publication": {
			edit: func(it *tidings.Item) {
				it.Content = "<p>corrected</p>"
				it.Updated = published.Add(-time.Hour)
			},
			changed: true, wantUpdated: editedAt,
		},
		"title and a new published date": {
			edit: func(it *tidings.Item) {
				it.Title = "New title"
				it.Published = t0
			},
			changed: true, wantUpdated: editedAt,
		},
		"published date only":   {edit: func(it *tidings.Item) { it.Published = t0 }},
		"feed update time only": {edit: func(it *tidings.Item) { it.Updated = t0.Add(time.Hour) }},
		"nothing":               {edit: func(*tidings.Item) {}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: t0}
			s := mustOpenStore(t, Options{Now: clk.Now})
			orig := newItem("a", "x", published)
			other := newItem("a", "y", published.Add(time.Hour))
			mustSave(t, s, "a", []tidings.Item{orig, other})
			before := newestKeys(t, s)
			gen := s.Generation()

			clk.Advance(2 * time.Hour)
			edited := newItem("a", "x", published)
			tc.edit(&edited)
			saved := mustSave(t, s, "a", []tidings.Item{edited, other})

			want := Saved{Unchanged: 2}
			if tc.changed {
				want = Saved{Updated: 1, Unchanged: 1}
			}
			if saved != want {
				t.Errorf("Saved = %+v, want %+v", saved, want)
			}
			got, err := s.Item(context.Background(), "a", "x")
			if err != nil {
				t.Fatalf("Item: %v", err)
			}
			if !got.Published.Equal(published) || !got.FirstSeen.Equal(t0) {
				t.Errorf("Published, FirstSeen = %v, %v, want kept %v, %v", got.Published, got.FirstSeen, published, t0)
			}
			if tc.changed {
				if got.Title != edited.Title || got.Content != edited.Content || got.Link != edited.Link ||
					got.Image != edited.Image || !slices.Equal(got.Categories, edited.Categories) ||
					!slices.Equal(got.Authors, edited.Authors) || !slices.Equal(got.Enclosures, edited.Enclosures) {
					t.Errorf("stored %+v, want the edit %+v", got, edited)
				}
				if !got.Updated.Equal(tc.wantUpdated) {
					t.Errorf("Updated = %v, want %v", got.Updated, tc.wantUpdated)
				}
				if s.Generation() == gen {
					t.Error("Generation did not move on an update")
				}
				if st := mustStats(t, s); !st.LastChange.Equal(editedAt) {
					t.Errorf("LastChange = %v, want %v", st.LastChange, editedAt)
				}
			} else {
				if got.Title != orig.Title || !got.Updated.IsZero() {
					t.Errorf("unchanged item stored as %+v", got)
				}
				if s.Generation() != gen {
					t.Error("Generation moved without a change")
				}
			}
			// Updated in place: still two items, in the same order.
			if after := newestKeys(t, s); !slices.Equal(after, before) {
				t.Errorf("Newest after edit = %v, before %v", after, before)
			}
			checkIndexes(t, s)
		})
	}
}

func TestSavePollDuplicateIDsFirstWins(t *testing.T) {
	s := mustOpenStore(t)
	first := newItem("a", "x", t0)
	second := newItem("a", "x", t0)
	second.Title = "second"
	if got := mustSave(t, s, "a", []tidings.Item{first, second}); got != (Saved{New: 1}) {
		t.Errorf("Saved = %+v, want 1 new", got)
	}
	got, err := s.Item(context.Background(), "a", "x")
	if err != nil {
		t.Fatalf("Item: %v", err)
	}
	if got.Title != first.Title {
		t.Errorf("stored title %q, want the first %q", got.Title, first.Title)
	}
	checkIndexes(t, s)
}

func TestSavePollFillsDefaults(t *testing.T) {
	zone := time.FixedZone("UTC-6", -6*3600)
	clk := &clock{t: t0.In(zone)}
	s := mustOpenStore(t, Options{Now: clk.Now})
	items := []tidings.Item{
		{ID: "no-dates", Title: "undated"},
		{ID: "dated", Published: t0.Add(-time.Hour).In(zone), FirstSeen: t0.Add(-time.Minute)},
	}
	mustSave(t, s, "a", items)
	if items[0].Source != "" || !items[0].FirstSeen.IsZero() {
		t.Errorf("SavePoll changed the caller's items: %+v", items[0])
	}
	tests := map[string]struct {
		id                   string
		published, firstSeen time.Time
	}{
		"missing dates are the save time": {id: "no-dates", published: t0, firstSeen: t0},
		"given dates are kept":            {id: "dated", published: t0.Add(-time.Hour), firstSeen: t0.Add(-time.Minute)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.Item(context.Background(), "a", tc.id)
			if err != nil {
				t.Fatalf("Item: %v", err)
			}
			if got.Source != "a" {
				t.Errorf("Source = %q, want a", got.Source)
			}
			if !got.Published.Equal(tc.published) || !got.FirstSeen.Equal(tc.firstSeen) {
				t.Errorf("Published, FirstSeen = %v, %v, want %v, %v", got.Published, got.FirstSeen, tc.published, tc.firstSeen)
			}
			if got.Published.Location() != time.UTC || got.FirstSeen.Location() != time.UTC {
				t.Errorf("times not stored in UTC: %v, %v", got.Published, got.FirstSeen)
			}
		})
	}
	checkIndexes(t, s)
}

func TestSavePollRejectsInvalid(t *testing.T) {
	tests := map[string]struct {
		source string
		items  []tidings.Item
		state  tidings.SourceState
	}{
		"empty source":         {source: "", items: itemsOf("", "x", 1)},
		"NUL in source":        {source: "a\x00b", items: []tidings.Item{{ID: "x"}}},
		"item without ID":      {source: "a", items: []tidings.Item{newItem("a", "x", t0), {Source: "a"}}},
		"item of other source": {source: "a", items: []tidings.Item{newItem("b", "x", t0)}},
		"state of other source": {
			source: "a", items: itemsOf("a", "x", 1), state: tidings.SourceState{Name: "b"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := mustOpenStore(t)
			_, err := s.SavePoll(context.Background(), tc.source, tc.items, tc.state)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("SavePoll = %v, want ErrInvalid", err)
			}
			// One transaction: nothing of a refused poll is kept.
			if st := mustStats(t, s); st.Items != 0 {
				t.Errorf("refused poll stored %d items", st.Items)
			}
			if states, err := s.SourceStates(context.Background()); err != nil || len(states) != 0 {
				t.Errorf("refused poll stored states %v (%v)", states, err)
			}
		})
	}
}

func TestSourceStates(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	if _, ok, err := s.SourceState(ctx, "b"); ok || err != nil {
		t.Errorf("SourceState of unknown source = %v, %v; want not found, no error", ok, err)
	}
	for _, name := range []string{"c", "a", "b"} {
		if err := s.SaveSourceState(ctx, tidings.SourceState{Name: name, Failures: len(name)}); err != nil {
			t.Fatalf("SaveSourceState(%q): %v", name, err)
		}
	}
	// A not-modified poll writes the state and no items.
	state := tidings.SourceState{Name: "b", ETag: `"v2"`, LastPoll: t0}
	if saved, err := s.SavePoll(ctx, "b", nil, state); err != nil || saved != (Saved{}) {
		t.Fatalf("SavePoll(nil) = %+v, %v", saved, err)
	}
	got, ok, err := s.SourceState(ctx, "b")
	if err != nil || !ok || got.ETag != `"v2"` || !got.LastPoll.Equal(t0) || got.Failures != 0 {
		t.Errorf("SourceState(b) = %+v, %v, %v; want the state of the last poll", got, ok, err)
	}
	states, err := s.SourceStates(ctx)
	if err != nil {
		t.Fatalf("SourceStates: %v", err)
	}
	var names []string
	for _, st := range states {
		names = append(names, st.Name)
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("SourceStates names = %v, want sorted a b c", names)
	}
	if err := s.SaveSourceState(ctx, tidings.SourceState{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SaveSourceState without a name = %v, want ErrInvalid", err)
	}
}

func TestNewestOrder(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	t1, t2 := t0.Add(-2*time.Hour), t0.Add(-time.Hour)
	f1, f2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	at := func(source, id string, published, firstSeen time.Time) tidings.Item {
		it := newItem(source, id, published)
		it.FirstSeen = firstSeen
		return it
	}
	mustSave(t, s, "a", []tidings.Item{
		at("a", "old", t1, f1),
		at("a", "3", t2, f2),
		at("a", "newest", t0, f1),
		at("a", "2", t2, f1),
		at("a", "4", t2, f2),
	})
	mustSave(t, s, "b", []tidings.Item{at("b", "1", t2, f2)})
	mustSave(t, s, "ab", []tidings.Item{at("ab", "1", t2, f2)})

	want := []string{
		"a/newest", // latest published
		"b/1",      // published t2, first seen f2: source descending
		"ab/1",     // "ab" after "a" by source, so it comes before a's
		"a/4",      // same source: ID descending
		"a/3",
		"a/2", // published t2 but first seen earlier
		"a/old",
	}
	if got := newestKeys(t, s); !slices.Equal(got, want) {
		t.Errorf("Newest order = %v\nwant %v", got, want)
	}

	for _, stop := range []int{1, 3} {
		var got []string
		err := s.Newest(ctx, func(it *tidings.Item) bool {
			got = append(got, it.Source+"/"+it.ID)
			return len(got) < stop
		})
		if err != nil {
			t.Fatalf("Newest: %v", err)
		}
		if !slices.Equal(got, want[:stop]) {
			t.Errorf("Newest stopping after %d = %v, want %v", stop, got, want[:stop])
		}
	}

	// fn may keep the items it is given.
	var kept []*tidings.Item
	if err := s.Newest(ctx, func(it *tidings.Item) bool { kept = append(kept, it); return true }); err != nil {
		t.Fatalf("Newest: %v", err)
	}
	if kept[0].ID != "newest" || kept[len(kept)-1].ID != "old" {
		t.Errorf("kept items changed after the walk: first %q, last %q", kept[0].ID, kept[len(kept)-1].ID)
	}
	checkIndexes(t, s)
}

func TestItemNotFound(t *testing.T) {
	s := mustOpenStore(t)
	mustSave(t, s, "a", itemsOf("a", "x", 1))
	tests := map[string]struct{ source, id string }{
		"unknown id":     {"a", "nope"},
		"unknown source": {"b", "x0"},
		"id prefix":      {"a", "x"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Item(context.Background(), tc.source, tc.id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Item(%q, %q) = %v, want ErrNotFound", tc.source, tc.id, err)
			}
		})
	}
}

func TestStatsPerSource(t *testing.T) {
	clk := &clock{t: t0}
	s := mustOpenStore(t, Options{Now: clk.Now})
	if st := mustStats(t, s); st.Items != 0 || len(st.PerSource) != 0 || !st.LastChange.IsZero() || st.SizeBytes <= 0 {
		t.Errorf("Stats of an empty store = %+v", st)
	}
	mustSave(t, s, "a", itemsOf("a", "x", 3))
	clk.Advance(time.Minute)
	mustSave(t, s, "b", itemsOf("b", "x", 2))
	clk.Advance(time.Minute)
	mustSave(t, s, "a", itemsOf("a", "x", 3)) // changes nothing
	mustSave(t, s, "c", nil)                  // state only
	st := mustStats(t, s)
	if st.Items != 5 || st.PerSource["a"] != 3 || st.PerSource["b"] != 2 || len(st.PerSource) != 2 {
		t.Errorf("Stats = %+v, want a:3 b:2", st)
	}
	if want := t0.Add(time.Minute); !st.LastChange.Equal(want) {
		t.Errorf("LastChange = %v, want %v (the last save that changed items)", st.LastChange, want)
	}
}

func TestConcurrentPollsAndReads(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	const sources, polls = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, sources*polls+1)
	for src := range sources {
		name := fmt.Sprintf("s%d", src)
		wg.Go(func() {
			for p := range polls {
				// Each poll lists the feed so far, as a growing feed does.
				if _, err := s.SavePoll(ctx, name, itemsOf(name, "x", (p+1)*3), tidings.SourceState{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		for range polls * 4 {
			err := s.Newest(ctx, func(it *tidings.Item) bool { return it.ID != "" })
			if err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := mustStats(t, s); st.Items != sources*polls*3 {
		t.Errorf("store holds %d items, want %d", st.Items, sources*polls*3)
	}
	checkIndexes(t, s)
}
