package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/dedupe"
)

// story returns an item with a realistic amount of text, so that it has a
// fingerprint.
func story(source, id, title, link string, published time.Time) tidings.Item {
	return tidings.Item{
		Source: source, ID: id, Title: title, Link: link, CanonicalLink: tidings.CanonicalURL(link),
		Summary: "The city council voted on Tuesday to extend the night bus network to the eastern suburbs, " +
			"after a year of complaints from shift workers who said the last trains left them stranded. " + title,
		Published: published,
	}
}

func TestGUIDChurn(t *testing.T) {
	type poll = []tidings.Item
	ctx := context.Background()
	tests := map[string]struct {
		polls   []poll
		wantIDs []string // stored IDs of source "s", sorted
		wantNew []int    // Saved.New per poll
	}{
		"new GUID, same link and title": {
			polls: []poll{
				{story("s", "guid-1", "Night buses extended", "https://s.example/buses", t0)},
				{story("s", "guid-2", "Night buses extended", "https://s.example/buses?utm_source=rss", t0.Add(time.Hour))},
				{story("s", "guid-3", "Night buses extended", "https://s.example/buses", t0.Add(2*time.Hour))},
			},
			wantIDs: []string{"guid-1"},
			wantNew: []int{1, 0, 0},
		},
		"new GUID and rewritten link, same text": {
			polls: []poll{
				{story("s", "a", "Night buses extended", "https://s.example/buses?session=1", t0)},
				{story("s", "b", "Night buses extended", "https://s.example/buses?session=2", t0)},
			},
			wantIDs: []string{"a"},
			wantNew: []int{1, 0},
		},
		"one page link, different fragments and titles stay distinct": {
			polls: []poll{{
				{Source: "s", ID: "p#1", Title: "Monday: rain", Link: "https://s.example/log#1", CanonicalLink: "https://s.example/log", Published: t0},
				{Source: "s", ID: "p#2", Title: "Tuesday: sun", Link: "https://s.example/log#2", CanonicalLink: "https://s.example/log", Published: t0.Add(time.Hour)},
			}},
			wantIDs: []string{"p#1", "p#2"},
			wantNew: []int{2},
		},
		"two GUIDs for one story in one listing": {
			polls: []poll{{
				story("s", "x", "Night buses extended", "https://s.example/buses", t0),
				story("s", "y", "Night buses extended", "https://s.example/buses", t0),
			}},
			wantIDs: []string{"x"},
			wantNew: []int{1},
		},
		"different stories with the same link keep their GUIDs": {
			polls: []poll{
				{story("s", "a", "Night buses extended", "https://s.example/news", t0)},
				{story("s", "b", "Council approves budget for new bus depot in the east", "https://s.example/news", t0)},
			},
			wantIDs: []string{"a", "b"},
			wantNew: []int{1, 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := mustOpenStore(t)
			for i, p := range tc.polls {
				saved, err := s.SavePoll(ctx, "s", p, tidings.SourceState{})
				if err != nil {
					t.Fatal(err)
				}
				if saved.New != tc.wantNew[i] {
					t.Errorf("poll %d: New = %d, want %d (%+v)", i, saved.New, tc.wantNew[i], saved)
				}
			}
			var ids []string
			if err := s.Newest(ctx, func(it *tidings.Item) bool { ids = append(ids, it.ID); return true }); err != nil {
				t.Fatal(err)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tc.wantIDs) {
				t.Errorf("stored IDs = %q, want %q", ids, tc.wantIDs)
			}
			checkIndexes(t, s)
		})
	}
}

// TestBumpedDateKeepsPlace: a feed that bumps pubDate on every fetch, with
// or without a GUID change, does not move its item up.
func TestBumpedDateKeepsPlace(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	old := story("s", "old", "Night buses extended", "https://s.example/buses", t0)
	other := story("s", "other", "Library opens on Sundays", "https://s.example/library", t0.Add(time.Hour))
	other.Summary = "The central library will open on Sundays from next month, the council said, after volunteers offered to staff the reading rooms."
	if _, err := s.SavePoll(ctx, "s", []tidings.Item{old, other}, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	bumped := old
	bumped.Published = t0.Add(5 * time.Hour)
	bumped.Updated = t0.Add(5 * time.Hour)
	churned := bumped
	churned.ID = "old-regenerated"
	for _, it := range []tidings.Item{bumped, churned} {
		if _, err := s.SavePoll(ctx, "s", []tidings.Item{it, other}, tidings.SourceState{}); err != nil {
			t.Fatal(err)
		}
		var ids []string
		_ = s.Newest(ctx, func(it *tidings.Item) bool { ids = append(ids, it.ID); return true })
		if want := []string{"other", "old"}; !slices.Equal(ids, want) {
			t.Errorf("after a bumped date (ID %q): order %q, want %q", it.ID, ids, want)
		}
	}
	got, err := s.Item(ctx, "s", "old")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Published.Equal(t0) {
		t.Errorf("Published = %v, want the first one %v", got.Published, t0)
	}
}

// topicDef is a TopicDef matching items whose title contains word.
func topicDef(name, version, word string) TopicDef {
	return TopicDef{Name: name, Version: version, Match: func(it *tidings.Item) bool {
		return strings.Contains(strings.ToLower(it.Title), word)
	}}
}

func topicIDs(t *testing.T, s *Store, topic string) []string {
	t.Helper()
	var ids []string
	err := s.TopicNewest(context.Background(), topic, func(it *tidings.Item) bool {
		ids = append(ids, it.Source+"/"+it.ID)
		return true
	})
	if err != nil {
		t.Fatalf("TopicNewest(%q): %v", topic, err)
	}
	return ids
}

func TestTopicIndex(t *testing.T) {
	defer func(n int) { rebuildBatch = n }(rebuildBatch)
	rebuildBatch = 2 // rebuilds cross transactions
	ctx := context.Background()
	path := storePath(t)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	items := []tidings.Item{
		newItem("a", "1", t0), newItem("a", "2", t0.Add(time.Hour)), newItem("a", "3", t0.Add(2*time.Hour)),
	}
	items[0].Title, items[1].Title, items[2].Title = "Bus strike", "Rain", "Bus fares"
	if _, err := s.SavePoll(ctx, "a", items, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	// Built from the stored items on first SetTopics.
	if err := s.SetTopics(ctx, []TopicDef{topicDef("bus", "v1", "bus"), topicDef("rain", "v1", "rain")}); err != nil {
		t.Fatal(err)
	}
	if got, want := topicIDs(t, s, "bus"), []string{"a/3", "a/1"}; !slices.Equal(got, want) {
		t.Errorf("bus = %q, want %q", got, want)
	}
	// Kept up to date by SavePoll: a new item, an edit that leaves the topic.
	items[1].Title = "Bus shelters after the rain"
	items[2].Title = "Fares rise"
	more := newItem("b", "9", t0.Add(3*time.Hour))
	more.Title = "Bus lanes"
	if _, err := s.SavePoll(ctx, "a", items, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SavePoll(ctx, "b", []tidings.Item{more}, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	if got, want := topicIDs(t, s, "bus"), []string{"b/9", "a/2", "a/1"}; !slices.Equal(got, want) {
		t.Errorf("bus after edits = %q, want %q", got, want)
	}
	checkIndexes(t, s)
	// Kept by RemoveSource.
	if err := s.RemoveSource(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if got, want := topicIDs(t, s, "bus"), []string{"a/2", "a/1"}; !slices.Equal(got, want) {
		t.Errorf("bus after RemoveSource = %q, want %q", got, want)
	}
	// A changed definition is rebuilt; an unknown topic is not indexed.
	if err := s.SetTopics(ctx, []TopicDef{topicDef("bus", "v2", "fares")}); err != nil {
		t.Fatal(err)
	}
	if got, want := topicIDs(t, s, "bus"), []string{"a/3"}; !slices.Equal(got, want) {
		t.Errorf("bus v2 = %q, want %q", got, want)
	}
	if err := s.TopicNewest(ctx, "rain", func(*tidings.Item) bool { return true }); !errors.Is(err, ErrTopicNotIndexed) {
		t.Errorf("TopicNewest of a dropped topic = %v, want ErrTopicNotIndexed", err)
	}
	// A caller naming the version it expects reads the index of that
	// version only: one that defines the topic otherwise (v1, v3) does not.
	for _, tc := range []struct {
		version string
		want    error
	}{{"v2", nil}, {"", nil}, {"v1", ErrTopicNotIndexed}, {"v3", ErrTopicNotIndexed}} {
		n := 0
		err := s.TopicNewestSkip(ctx, "bus", tc.version, nil, func(*tidings.Item) bool { n++; return true })
		if !errors.Is(err, tc.want) || tc.want == nil && n != 1 {
			t.Errorf("TopicNewestSkip(bus, version %q) = %v after %d items, want %v", tc.version, err, n, tc.want)
		}
	}
	checkIndexes(t, s)
	s.Close()

	// A process that does not know the topics (say, `tidings fetch` of an
	// older config) writes items: the index is marked stale, not trusted.
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := newItem("a", "4", t0.Add(4*time.Hour))
	fresh.Title = "Fares frozen"
	if _, err := s2.SavePoll(ctx, "a", append(items, fresh), tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = ro.SetTopics(ctx, []TopicDef{topicDef("bus", "v2", "fares")})
	if err := ro.TopicNewest(ctx, "bus", func(*tidings.Item) bool { return true }); !errors.Is(err, ErrTopicNotIndexed) {
		t.Errorf("TopicNewest after a write by an unaware process = %v, want ErrTopicNotIndexed", err)
	}
	ro.Close()
	s3 := mustOpenAt(t, path, Options{})
	if err := s3.SetTopics(ctx, []TopicDef{topicDef("bus", "v2", "fares")}); err != nil {
		t.Fatal(err)
	}
	if got, want := topicIDs(t, s3, "bus"), []string{"a/4", "a/3"}; !slices.Equal(got, want) {
		t.Errorf("bus rebuilt = %q, want %q", got, want)
	}
	checkIndexes(t, s3)
}

// TestMigrateV1 opens a copy of a store written by Tidings 1.0 (schema 1,
// committed before the format changed) and checks it was migrated in place.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	copyFile(t, "testdata/v1.db", path)

	ro, err := Open(path, Options{ReadOnly: true})
	if err == nil {
		ro.Close()
		t.Fatal("read-only Open of a schema 1 store succeeded")
	}
	if !errors.Is(err, ErrOldSchema) || !strings.Contains(err.Error(), "tidings fetch") {
		t.Errorf("read-only Open = %v, want ErrOldSchema saying how to migrate", err)
	}

	s := mustOpenAt(t, path, Options{})
	st := mustStats(t, s)
	if st.Items != 8 || st.PerSource["alpha"] != 5 || st.PerSource["beta"] != 3 {
		t.Errorf("stats after migration = %+v, want alpha 5, beta 3", st)
	}
	it, err := s.Item(ctx, "alpha", "a0")
	if err != nil {
		t.Fatal(err)
	}
	if it.Fingerprint == 0 || !strings.HasPrefix(it.Title, "Mexico and Canada") {
		t.Errorf("migrated item a0 = %q with fingerprint %x, want its title and a fingerprint", it.Title, it.Fingerprint)
	}
	if state, ok, err := s.SourceState(ctx, "alpha"); err != nil || !ok || state.ETag != `"a1"` {
		t.Errorf("state of alpha = %+v, %v, %v", state, ok, err)
	}
	// GUID churn works for migrated items too.
	churned := it
	churned.ID = "a0-new-guid"
	churned.Fingerprint = 0
	saved, err := s.SavePoll(ctx, "alpha", []tidings.Item{churned}, tidings.SourceState{})
	if err != nil {
		t.Fatal(err)
	}
	if saved.New != 0 {
		t.Errorf("churned GUID of a migrated item: %+v, want it matched", saved)
	}
	if err := s.SetTopics(ctx, []TopicDef{topicDef("mexico", "1", "mexico")}); err != nil {
		t.Fatal(err)
	}
	if got, want := topicIDs(t, s, "mexico"), []string{"alpha/a0"}; !slices.Equal(got, want) {
		t.Errorf("topic mexico = %q, want %q", got, want)
	}
	checkIndexes(t, s)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateInterrupted: a migration cut short after some batches (a crash)
// leaves a schema 1 store that the next Open finishes migrating.
func TestMigrateInterrupted(t *testing.T) {
	defer func(n int) { migrateBatch = n }(migrateBatch)
	migrateBatch = 3
	path := filepath.Join(t.TempDir(), "v1.db")
	copyFile(t, "testdata/v1.db", path)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketByStory, bucketByTopic, bucketTopicVer} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		_, done, err := migrateV1Batch(tx, nil)
		if done {
			t.Error("first batch of 3 migrated all 8 items")
		}
		return err
	})
	s := mustOpenAt(t, path, Options{})
	if st := mustStats(t, s); st.Items != 8 {
		t.Errorf("after the resumed migration: %d items, want 8", st.Items)
	}
	n := 0
	err := s.Newest(context.Background(), func(it *tidings.Item) bool {
		if it.Fingerprint != 0 {
			n++
		}
		return true
	})
	if err != nil || n == 0 {
		t.Errorf("no migrated item has a fingerprint (%v)", err)
	}
	checkIndexes(t, s)
}

// TestChurnAfterPrune: a pruned item does not come back under a new GUID
// while its source still lists it, and may once the source stopped.
func TestChurnAfterPrune(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0}
	s := mustOpenStore(t, Options{Now: c.Now, Retention: time.Hour})
	old := story("s", "guid-1", "Night buses extended", "https://s.example/buses", t0)
	if _, err := s.SavePoll(ctx, "s", []tidings.Item{old}, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	if n, err := s.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	churned := old
	churned.ID = "guid-2"
	for range 2 {
		saved, err := s.SavePoll(ctx, "s", []tidings.Item{churned}, tidings.SourceState{})
		if err != nil {
			t.Fatal(err)
		}
		if saved.New != 0 || saved.Tombstoned != 1 {
			t.Errorf("churned GUID of a pruned item: %+v, want it tombstoned", saved)
		}
		checkIndexes(t, s)
		churned.ID = "guid-3"
	}
	// The source stops listing it: tombstone and story keys go.
	if _, err := s.SavePoll(ctx, "s", []tidings.Item{}, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	checkIndexes(t, s)
	if n := mustTombstones(t, s); n != 0 {
		t.Errorf("%d tombstones left", n)
	}
	saved, err := s.SavePoll(ctx, "s", []tidings.Item{churned}, tidings.SourceState{})
	if err != nil || saved.New != 1 {
		t.Errorf("after the source dropped it, the story comes back as new: %+v, %v", saved, err)
	}
	checkIndexes(t, s)
}

// TestTopicHints: the topic index holds each item's fingerprint and link
// hash, kept up to date by edits, and TopicNewestSkip passes over the items
// skip names without reading them.
func TestTopicHints(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	if err := s.SetTopics(ctx, []TopicDef{topicDef("bus", "v1", "bus")}); err != nil {
		t.Fatal(err)
	}
	items := []tidings.Item{newItem("a", "1", t0), newItem("a", "2", t0.Add(time.Hour)), newItem("a", "3", t0.Add(2*time.Hour))}
	for i := range items {
		items[i].Title = "Bus strike enters its second week as talks between the union and the city stall again"
		items[i].Summary = fmt.Sprint("Drivers walked out over wages and rotas; commuters face long waits, day ", i)
	}
	items[1].Link, items[1].CanonicalLink = "", ""
	check := func() {
		t.Helper()
		stored := map[string]*tidings.Item{}
		_ = s.Newest(ctx, func(it *tidings.Item) bool { stored[it.ID] = it; return true })
		var hints []TopicHint
		var read []string
		err := s.TopicNewestSkip(ctx, "bus", "", func(h TopicHint) bool {
			hints = append(hints, h)
			return len(hints) == 2 // pass over the second
		}, func(it *tidings.Item) bool { read = append(read, it.ID); return true })
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"3", "1"}; !slices.Equal(read, want) {
			t.Errorf("read %q, want %q", read, want)
		}
		for i, id := range []string{"3", "2", "1"} {
			it := stored[id]
			want := TopicHint{Published: it.Published, FirstSeen: it.FirstSeen, Fingerprint: it.Fingerprint,
				LinkHash: dedupe.LinkHash(dedupe.StoryLink(it))}
			if it.Fingerprint == 0 || (id == "2") != (want.LinkHash == 0) {
				t.Fatalf("item %s: fingerprint %x, link hash %x: test items are wrong", id, it.Fingerprint, want.LinkHash)
			}
			if hints[i] != want {
				t.Errorf("hint of item %s = %+v, want %+v", id, hints[i], want)
			}
		}
		checkIndexes(t, s)
	}
	if _, err := s.SavePoll(ctx, "a", items, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	check()
	// An edit of link and text moves the hints along.
	items[0].Link, items[0].CanonicalLink = "https://example.org/moved", ""
	items[0].Summary = "Talks resume on Monday, the mayor said, after a week without buses on most routes in town"
	if _, err := s.SavePoll(ctx, "a", items, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	check()
}

// TestTopicIndexOldLayout: an index written before its values held hints
// (empty values, the bare version) is not trusted: read-only processes get
// ErrTopicNotIndexed (and scan), and the next SetTopics rebuilds it.
func TestTopicIndexOldLayout(t *testing.T) {
	ctx := context.Background()
	path := storePath(t)
	s := mustOpenAt(t, path, Options{})
	items := []tidings.Item{newItem("a", "1", t0), newItem("a", "2", t0.Add(time.Hour))}
	items[0].Title, items[1].Title = "Bus strike", "Bus fares"
	if _, err := s.SavePoll(ctx, "a", items, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	def := topicDef("bus", "v1", "bus")
	// What the previous code wrote.
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, it := range items {
			if err := tx.Bucket(bucketByTopic).Put(topicKey("bus", it.Published, it.Published, itemKey("a", it.ID)), nil); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketTopicVer).Put([]byte("bus"), []byte(def.Version))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = ro.SetTopics(ctx, []TopicDef{def})
	if err := ro.TopicNewestSkip(ctx, "bus", "", func(TopicHint) bool { return false }, func(*tidings.Item) bool { return true }); !errors.Is(err, ErrTopicNotIndexed) {
		t.Errorf("TopicNewestSkip of an old-layout index = %v, want ErrTopicNotIndexed", err)
	}
	ro.Close()
	s2 := mustOpenAt(t, path, Options{})
	if err := s2.SetTopics(ctx, []TopicDef{def}); err != nil {
		t.Fatal(err)
	}
	if got, want := topicIDs(t, s2, "bus"), []string{"a/2", "a/1"}; !slices.Equal(got, want) {
		t.Errorf("bus after rebuild = %q, want %q", got, want)
	}
	var hints int
	err = s2.TopicNewestSkip(ctx, "bus", "", func(h TopicHint) bool { hints++; return false }, func(*tidings.Item) bool { return true })
	if err != nil || hints != 2 {
		t.Errorf("TopicNewestSkip after rebuild: %d hints, %v; want 2", hints, err)
	}
	checkIndexes(t, s2)
}

// TestTopicMatchAhead: topics matched before the write transaction (for
// new items, outside the one writer) give the index the transaction would
// have given; an item without a published time, which gets one there, is
// matched there, and a topic changed in between is matched by its new
// definition.
func TestTopicMatchAhead(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	dated := TopicDef{Name: "dated", Version: "v1", Match: func(it *tidings.Item) bool { return !it.Published.IsZero() }}
	odd := TopicDef{Name: "odd", Version: "v1", Match: func(it *tidings.Item) bool { return strings.HasSuffix(it.ID, "1") || strings.HasSuffix(it.ID, "3") }}
	if err := s.SetTopics(ctx, []TopicDef{dated, odd}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	items := []tidings.Item{newItem("a", "1", t0), newItem("a", "2", t0.Add(time.Hour)), newItem("a", "3", time.Time{})}
	if _, err := s.SavePoll(ctx, "a", items, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	if got, want := topicIDs(t, s, "dated"), []string{"a/3", "a/2", "a/1"}; !slices.Equal(got, want) {
		t.Errorf("dated = %q, want %q (a/3 is dated in the transaction, first seen now)", got, want)
	}
	if got, want := topicIDs(t, s, "odd"), []string{"a/3", "a/1"}; !slices.Equal(got, want) {
		t.Errorf("odd = %q, want %q", got, want)
	}
	checkIndexes(t, s)
}

// TestAnalyzeBigListing: a listing of several analyzeChunks is analyzed by
// several goroutines; each item must still get its own fingerprint, story
// keys, encoding and topics, as one by one.
func TestAnalyzeBigListing(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	seven := TopicDef{Name: "seven", Version: "v1", Match: func(it *tidings.Item) bool { return strings.HasSuffix(it.ID, "7") }}
	if err := s.SetTopics(ctx, []TopicDef{seven}); err != nil {
		t.Fatal(err)
	}
	items := itemsOf("big", "e", 5*analyzeChunk+3)
	for i := range items {
		// Enough words for a fingerprint, and each item's own.
		items[i].Content = fmt.Sprintf("<p>Episode %d of the show: %s talks with guest number %d about the week's news, the markets and the weather.</p>", i, strings.Repeat("host ", i%5+1), i*7)
	}
	if saved := mustSave(t, s, "big", items); saved.New != len(items) {
		t.Fatalf("saved %+v, want %d new", saved, len(items))
	}
	var want []string
	for i := range items {
		got, err := s.Item(ctx, "big", items[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		it := items[i]
		if fp := dedupe.Fingerprint(&it); fp == 0 || got.Fingerprint != fp || got.Content != it.Content {
			t.Errorf("item %s: stored fingerprint %x, content %q; want %x, %q", it.ID, got.Fingerprint, got.Content, fp, it.Content)
		}
		if strings.HasSuffix(it.ID, "7") {
			want = append(want, "big/"+it.ID)
		}
	}
	got := topicIDs(t, s, "seven")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("topic seven = %q, want %q", got, want)
	}
	checkIndexes(t, s)
	// The same listing again is all known: nothing new, nothing changed.
	if saved := mustSave(t, s, "big", items); saved.New != 0 || saved.Updated != 0 {
		t.Errorf("second save of the same listing: %+v", saved)
	}
}
