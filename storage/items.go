package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidings/tidings"
)

// ctxCheckEvery is how many items a long loop handles between looks at its
// context: often enough to stop promptly, rarely enough to cost nothing.
const ctxCheckEvery = 64

// txBuckets are the buckets of one transaction, and the topics whose
// indexes it keeps up to date.
type txBuckets struct {
	meta, items, byTime, bySeen, bySource, counts, tombs, states *bolt.Bucket
	byStory, byTopic, topicVer                                   *bolt.Bucket
	topics                                                       []TopicDef
	topicsFrom                                                   *[]TopicDef // what topics was loaded from: analyzed.matchedFor
}

// buckets returns the buckets of tx; Open made sure they all exist.
func (s *Store) buckets(tx *bolt.Tx) txBuckets {
	b := txBuckets{
		meta:     tx.Bucket(bucketMeta),
		items:    tx.Bucket(bucketItems),
		byTime:   tx.Bucket(bucketByTime),
		bySeen:   tx.Bucket(bucketBySeen),
		bySource: tx.Bucket(bucketBySource),
		counts:   tx.Bucket(bucketCounts),
		tombs:    tx.Bucket(bucketTombs),
		states:   tx.Bucket(bucketStates),
		byStory:  tx.Bucket(bucketByStory),
		byTopic:  tx.Bucket(bucketByTopic),
		topicVer: tx.Bucket(bucketTopicVer),
	}
	if p := s.topics.Load(); p != nil {
		b.topics, b.topicsFrom = *p, p
	}
	return b
}

// Saved counts what SavePoll did.
type Saved struct {
	New        int // items stored for the first time
	Updated    int // known items whose content changed, updated in place
	Unchanged  int // known items whose content is as stored
	Tombstoned int // pruned items the source still lists, not re-added
}

// SavePoll stores one poll of one source in ONE write transaction, which it
// may share with concurrent SavePoll and SaveSourceState calls (a group
// commit; each call's writes still land all together or not at all): the
// items (new ones inserted, known ones — same Source+ID — updated in place if
// Title, Link, Summary, Content, Authors, Categories, Enclosures or Image
// changed, keeping the stored FirstSeen and Published and setting Updated to
// the item's Updated if later than the stored Updated and Published, else
// now), and the source's state. Items whose identity is tombstoned are not
// re-added (Tombstoned count). items == nil means "not modified": only the
// state is written and tombstones are left alone; a non-nil slice (even
// empty) is the full current listing of the source, and tombstones of
// identities no longer listed are dropped (DESIGN §5.3). Duplicate IDs
// within one call: the first wins.
//
// GUID churn: a new ID whose canonical link and title, or whose fingerprint
// (package dedupe), equal those of an item already stored from this source
// is that item under its old ID, which stays the item's ID (published feeds
// keep their ids). The stored Published is kept on every update, so a
// bumped date never moves an item back to the top of a feed.
//
// The topic indexes of the topics given to SetTopics are updated in the same
// transaction; indexes of other topics are marked stale.
//
// A new item without FirstSeen gets the current time; one without Published
// gets its FirstSeen, so that it still sorts by time. Items must have an ID
// and either no Source or this source (else ErrInvalid); state.Name must be
// empty or the source. Times are stored in UTC.
func (s *Store) SavePoll(ctx context.Context, source string, items []tidings.Item, state tidings.SourceState) (Saved, error) {
	if err := validSource(source); err != nil {
		return Saved{}, fmt.Errorf("storage: save poll: %w", err)
	}
	if state.Name == "" {
		state.Name = source
	} else if state.Name != source {
		return Saved{}, fmt.Errorf("storage: save poll of %q: %w: state is for %q", source, ErrInvalid, state.Name)
	}
	stateVal, err := json.Marshal(state)
	if err != nil {
		return Saved{}, fmt.Errorf("storage: save poll of %q: encode state: %w", source, err)
	}
	now := s.now().UTC()
	pre, err := s.analyzeNew(ctx, source, items, now)
	if err != nil {
		return Saved{}, fmt.Errorf("storage: save poll of %q: %w", source, err)
	}

	var saved Saved
	// A group commit: polls finishing together share a transaction and its
	// fsyncs, which on small feeds cost more than the items themselves.
	// The function may run twice (see group), so it starts from scratch.
	err = s.group(ctx, func(tx *bolt.Tx) error {
		saved = Saved{}
		b := s.buckets(tx)
		var listed map[string]struct{}
		if items != nil {
			listed = make(map[string]struct{}, len(items))
		}
		for i := range items {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			it := items[i] // a copy: the caller's slice is not changed
			if it.ID == "" {
				return fmt.Errorf("%w: item %d has no ID", ErrInvalid, i)
			}
			if it.Source == "" {
				it.Source = source
			} else if it.Source != source {
				return fmt.Errorf("%w: item %q is of source %q", ErrInvalid, it.ID, it.Source)
			}
			if _, dup := listed[it.ID]; dup {
				continue
			}
			listed[it.ID] = struct{}{} // non-nil: the loop runs only for a listing
			ik := itemKey(source, it.ID)
			v := b.items.Get(ik)
			if v == nil && b.tombs.Get(ik) != nil {
				saved.Tombstoned++
				continue
			}
			var text textKey
			var story [][]byte // its story keys, once known
			if v == nil {
				if p := pre[i]; p.done {
					it.Fingerprint, text, story = p.fp, p.text, p.story
				} else {
					text = analyze(&it)
					story = storyKeys(&it, text)
				}
				if old := findStory(b, story); old != "" {
					// GUID churn: the same story under a new ID. Once
					// its old ID was seen in this listing, it is a
					// second copy and dropped.
					oik := itemKey(source, old)
					ov := b.items.Get(oik)
					_, dup := listed[old]
					switch {
					case ov != nil && dup:
						continue
					case ov != nil:
						listed[old] = struct{}{}
						it.ID, ik, v = old, oik, ov
					case b.tombs.Get(oik) != nil:
						// A churned GUID of a pruned item: keep its
						// tombstone, as for the old GUID itself.
						if !dup {
							listed[old] = struct{}{}
							saved.Tombstoned++
						}
						continue
					}
				}
			}
			if v != nil {
				var old tidings.Item
				if err := decodeItem(v, &old); err != nil {
					return fmt.Errorf("item %q: %w", it.ID, err)
				}
				if sameContent(&old, &it) {
					saved.Unchanged++
					continue
				}
				if text == nil {
					text = analyze(&it)
				}
				merged := mergeItem(&old, &it, now)
				if err := updateItem(b, ik, &old, &merged, text); err != nil {
					return err
				}
				saved.Updated++
				continue
			}
			var matched []bool
			if p := pre[i]; p.done && p.matchedFor != nil && p.matchedFor == b.topicsFrom {
				matched = p.matched
			}
			if err := insertItem(b, ik, &it, story, now, matched, pre[i].enc); err != nil {
				return err
			}
			saved.New++
		}
		if saved.New+saved.Updated > 0 {
			if err := staleUnknownTopics(b); err != nil {
				return err
			}
		}
		if saved.New > 0 {
			key := []byte(source)
			if err := putCount(b.counts, key, getCount(b.counts.Get(key))+uint64(saved.New)); err != nil {
				return fmt.Errorf("count items: %w", err)
			}
		}
		if listed != nil {
			if err := dropUnlistedTombs(b, source, listed); err != nil {
				return err
			}
		}
		if err := b.states.Put([]byte(source), stateVal); err != nil {
			return fmt.Errorf("put state: %w", err)
		}
		if saved.New+saved.Updated > 0 {
			if err := b.meta.Put(metaLastChange, putTime(nil, now)); err != nil {
				return fmt.Errorf("put last change: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Saved{}, fmt.Errorf("storage: save poll of %q: %w", source, err)
	}
	if saved.New+saved.Updated > 0 {
		s.gen.Add(1)
	}
	return saved, nil
}

// analyzed is an item's fingerprint and text key, computed ahead, and
// which topics it belongs to when that could be told ahead.
type analyzed struct {
	done  bool
	fp    uint64
	text  textKey
	story [][]byte // storyKeys
	enc   []byte   // the item as insertItem stores it (encodeItem)
	// matched[j] is matchedFor's topic j's Match of the item; nil when not
	// known ahead. The transaction uses it only if its topics are still
	// those (SetTopics has not run since).
	matched    []bool
	matchedFor *[]TopicDef
}

// analyzeNew fingerprints the items the store does not hold yet, before
// SavePoll's write transaction: tokenizing the text is most of the cost of
// a new item, and outside the one writer polls finishing together do it in
// parallel. So are their story keys and their encoding as a new item first
// seen at now: what the writer does alone, every poll waits for. Known
// items are left to the transaction, which analyzes only those whose
// content changed; so is an item stored meanwhile by another write (the
// result for index i is then simply unused).
func (s *Store) analyzeNew(ctx context.Context, source string, items []tidings.Item, now time.Time) ([]analyzed, error) {
	pre := make([]analyzed, len(items))
	var todo []int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		for i := range items {
			if items[i].ID != "" && b.Get(itemKey(source, items[i].ID)) == nil {
				todo = append(todo, i)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up known items: %w", err)
	}
	defs := s.topics.Load()
	one := func(i int) {
		it := items[i] // analyze sets Fingerprint on a copy
		it.Source = source
		text := analyze(&it)
		pre[i] = analyzed{done: true, fp: it.Fingerprint, text: text, story: storyKeys(&it, text)}
		// Matching a topic's query reads the item's words: per topic, in
		// the one writer, it was a tenth of a first ingest. An item
		// without a published time gets one in the transaction (its
		// first seen), which a published: term may look at: left to it.
		if defs != nil && len(*defs) > 0 && !it.Published.IsZero() {
			m := make([]bool, len(*defs))
			for j, d := range *defs {
				m[j] = d.Match(&it)
			}
			pre[i].matched, pre[i].matchedFor = m, defs
		}
		setTimes(&it, now)
		pre[i].enc = encodeItem(&it)
	}
	// A big listing (a podcast's 700 episodes) is shared among the cores:
	// with nothing else to do, as after a burst of polls, one goroutine
	// made every core but one wait for it.
	workers := min(runtime.GOMAXPROCS(0), len(todo)/analyzeChunk)
	if workers <= 1 {
		for _, i := range todo {
			one(i)
		}
		return pre, nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(analyzeChunk)) - analyzeChunk
				if lo >= len(todo) {
					return
				}
				for _, i := range todo[lo:min(lo+analyzeChunk, len(todo))] {
					one(i)
				}
			}
		})
	}
	wg.Wait()
	return pre, nil
}

// analyzeChunk is how many new items one goroutine of analyzeNew takes at
// a time; a listing of fewer than two chunks is analyzed by its caller.
const analyzeChunk = 64

// sameContent reports whether b carries the content stored in a, so that
// re-fetching an unchanged feed writes nothing but the state.
func sameContent(a, b *tidings.Item) bool {
	return a.Title == b.Title &&
		a.Link == b.Link &&
		a.Summary == b.Summary &&
		a.Content == b.Content &&
		a.Image == b.Image &&
		slices.Equal(a.Authors, b.Authors) &&
		slices.Equal(a.Categories, b.Categories) &&
		slices.Equal(a.Enclosures, b.Enclosures)
}

// mergeItem is the stored item old updated with the content of it: its
// place in time (Published, FirstSeen) stays, so its index keys do not move
// and an edit never makes an old story jump to the top of a feed.
func mergeItem(old, it *tidings.Item, now time.Time) tidings.Item {
	m := *it
	m.Source, m.ID = old.Source, old.ID
	m.Published, m.FirstSeen = old.Published, old.FirstSeen
	last := old.Updated
	if old.Published.After(last) {
		last = old.Published
	}
	// The feed's own update time is trusted when it moved forward (but not
	// into the future); an edit without one is dated now.
	if up := it.Updated.UTC(); up.After(last) && !up.After(now) {
		m.Updated = up
	} else {
		m.Updated = now
	}
	return m
}

// putItem writes the encoded item at ik.
func putItem(b txBuckets, ik []byte, it *tidings.Item) error {
	return putEncoded(b, ik, it, encodeItem(it))
}

func putEncoded(b txBuckets, ik []byte, it *tidings.Item, enc []byte) error {
	if err := b.items.Put(ik, enc); err != nil {
		return fmt.Errorf("put item %q: %w", it.ID, err)
	}
	return nil
}

// setTimes gives a new item first seen at now its stored times: in UTC,
// the first seen time as the published one if it has none.
func setTimes(it *tidings.Item, now time.Time) {
	if it.FirstSeen.IsZero() {
		it.FirstSeen = now
	}
	it.FirstSeen = it.FirstSeen.UTC()
	if it.Published.IsZero() {
		it.Published = it.FirstSeen
	}
	it.Published = it.Published.UTC()
	if !it.Updated.IsZero() {
		it.Updated = it.Updated.UTC()
	}
}

// insertItem stores a new item and its index entries. The caller counts it.
// story is the item's story keys (storyKeys); matched, if not nil, which
// of b.topics the item belongs to, and enc, if not nil, the item encoded
// after setTimes (see analyzed).
func insertItem(b txBuckets, ik []byte, it *tidings.Item, story [][]byte, now time.Time, matched []bool, enc []byte) error {
	setTimes(it, now)
	if enc == nil {
		enc = encodeItem(it)
	}
	if err := putEncoded(b, ik, it, enc); err != nil {
		return err
	}
	if err := b.byTime.Put(timeKey(it.Published, it.FirstSeen, ik), nil); err != nil {
		return fmt.Errorf("index item %q by time: %w", it.ID, err)
	}
	if err := b.bySeen.Put(seenKey(it.FirstSeen, ik), putTime(nil, it.Published)); err != nil {
		return fmt.Errorf("index item %q by first seen: %w", it.ID, err)
	}
	if err := b.bySource.Put(bySourceKey(it.Source, it.ID, it.Published, it.FirstSeen), nil); err != nil {
		return fmt.Errorf("index item %q by source: %w", it.ID, err)
	}
	if err := putStoryKeys(b, it.ID, story); err != nil {
		return err
	}
	return indexTopics(b, ik, it, matched)
}

// updateItem replaces the stored item old with merged (same key, same
// times, so the time indexes stay) and moves its story and topic keys.
func updateItem(b txBuckets, ik []byte, old, merged *tidings.Item, text textKey) error {
	if err := putItem(b, ik, merged); err != nil {
		return err
	}
	if err := deleteStory(b, old); err != nil {
		return err
	}
	if err := putStory(b, merged, text); err != nil {
		return err
	}
	return indexTopics(b, ik, merged, nil)
}

// deleteItem removes an item and its index entries. The caller adjusts the
// count and decides about a tombstone.
//
// A tombstoned item keeps its story keys, naming its tombstoned ID, so that
// a churned GUID of a pruned item is recognized and not re-added either;
// dropUnlistedTombs removes them with the tombstone.
func deleteItem(b txBuckets, ik []byte, published, firstSeen time.Time, tombstone bool) error {
	source, id := splitItemKey(ik)
	if v := b.items.Get(ik); v != nil && !tombstone {
		var it tidings.Item
		if err := decodeItem(v, &it); err != nil {
			return fmt.Errorf("item %q of %q: %w", id, source, err)
		}
		if err := deleteStory(b, &it); err != nil {
			return err
		}
	}
	if err := unindexTopics(b, ik, published, firstSeen); err != nil {
		return err
	}
	for _, del := range []struct {
		bucket *bolt.Bucket
		key    []byte
	}{
		{b.items, ik},
		{b.byTime, timeKey(published, firstSeen, ik)},
		{b.bySeen, seenKey(firstSeen, ik)},
		{b.bySource, bySourceKey(source, id, published, firstSeen)},
	} {
		if err := del.bucket.Delete(del.key); err != nil {
			return fmt.Errorf("delete item %q of %q: %w", id, source, err)
		}
	}
	return nil
}

// dropUnlistedTombs deletes the tombstones of source whose identity is not
// in listed, and the story keys that name them: once a source stops listing
// a pruned item, it may come back as new later (DESIGN §5.3).
func dropUnlistedTombs(b txBuckets, source string, listed map[string]struct{}) error {
	prefix := sourcePrefix(source)
	var drop [][]byte
	dropped := map[string]bool{}
	c := b.tombs.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if _, ok := listed[string(k[len(prefix):])]; !ok {
			drop = append(drop, bytes.Clone(k))
			dropped[string(k[len(prefix):])] = true
		}
	}
	// Deleting behind a moving cursor can skip keys, hence two passes.
	for _, k := range drop {
		if err := b.tombs.Delete(k); err != nil {
			return fmt.Errorf("drop tombstone: %w", err)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	var stories [][]byte
	c = b.byStory.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if dropped[string(v)] {
			stories = append(stories, bytes.Clone(k))
		}
	}
	for _, k := range stories {
		if err := b.byStory.Delete(k); err != nil {
			return fmt.Errorf("drop story key of a tombstone: %w", err)
		}
	}
	return nil
}

// SourceState returns the stored state of a source, and whether there is
// one.
func (s *Store) SourceState(ctx context.Context, source string) (tidings.SourceState, bool, error) {
	var st tidings.SourceState
	var found bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStates).Get([]byte(source))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &st)
	})
	if err != nil {
		return tidings.SourceState{}, false, fmt.Errorf("storage: read state of %q: %w", source, err)
	}
	return st, found, nil
}

// SourceStates returns the states of every source in the store, sorted by
// name.
func (s *Store) SourceStates(ctx context.Context) ([]tidings.SourceState, error) {
	var states []tidings.SourceState
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStates).ForEach(func(k, v []byte) error {
			var st tidings.SourceState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode state of %q: %w", k, err)
			}
			states = append(states, st)
			if len(states)%releaseEvery == 0 {
				// Every state's page is mapped with those around it:
				// 10,000 states mapped 150 MB in this one transaction.
				s.mapped.releaseIn(tx)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("storage: read source states: %w", err)
	}
	return states, nil
}

// SaveSourceState stores the state of the source state.Name, for polls that
// store no items (a failed poll, a 304, a backoff). Concurrent calls share
// one write transaction (see group): conditional polls are most polls.
func (s *Store) SaveSourceState(ctx context.Context, state tidings.SourceState) error {
	if err := validSource(state.Name); err != nil {
		return fmt.Errorf("storage: save source state: %w", err)
	}
	v, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("storage: save state of %q: %w", state.Name, err)
	}
	err = s.group(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStates).Put([]byte(state.Name), v)
	})
	if err != nil {
		return fmt.Errorf("storage: save state of %q: %w", state.Name, err)
	}
	return nil
}

// Newest calls fn for stored items newest first by Published (ties:
// FirstSeen, then source, then ID, all descending, deterministic), until fn
// returns false or the items run out. It walks a time-ordered index and
// never sorts the store in memory.
//
// A read transaction stays open for the whole walk, and a long one delays
// writes that must grow the file: fn should only filter and collect, and
// must not call the Store. fn may keep the item it is given.
func (s *Store) Newest(ctx context.Context, fn func(it *tidings.Item) bool) error {
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := s.buckets(tx)
		c := b.byTime.Cursor()
		n := 0
		for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			ik := k[2*timeLen:]
			v := b.items.Get(ik)
			if v == nil {
				return fmt.Errorf("time index names missing item %q", ik)
			}
			it := new(tidings.Item)
			if err := decodeItem(v, it); err != nil {
				return fmt.Errorf("item %q: %w", ik, err)
			}
			if !fn(it) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: walk newest items: %w", err)
	}
	return nil
}

// Item returns one item, or an error wrapping ErrNotFound.
func (s *Store) Item(ctx context.Context, source, id string) (tidings.Item, error) {
	var it tidings.Item
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketItems).Get(itemKey(source, id))
		if v == nil {
			return ErrNotFound
		}
		return decodeItem(v, &it)
	})
	if err != nil {
		return tidings.Item{}, fmt.Errorf("storage: item %q of %q: %w", id, source, err)
	}
	return it, nil
}

// Stats describes the store's contents.
type Stats struct {
	Items      int            // items stored
	PerSource  map[string]int // items stored per source (sources with none are absent)
	SizeBytes  int64          // size of the data in the file
	LastChange time.Time      // time of the last SavePoll that added or updated an item; zero if none
}

// Tombstones counts the identities of pruned items still remembered. It
// walks their bucket, so it is for tools and tests, not for every request.
func (s *Store) Tombstones(ctx context.Context) (int, error) {
	n := 0
	err := s.view(ctx, func(tx *bolt.Tx) error {
		n = s.buckets(tx).tombs.Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("storage: count tombstones: %w", err)
	}
	return n, nil
}

// Stats returns counts and sizes without walking the items or the
// tombstones: /metrics calls it on every scrape, and a long-running store
// remembers many pruned identities (see Tombstones).
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{PerSource: map[string]int{}}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := s.buckets(tx)
		err := b.counts.ForEach(func(k, v []byte) error {
			n := int(getCount(v))
			st.PerSource[string(k)] = n
			st.Items += n
			return nil
		})
		if err != nil {
			return err
		}
		st.SizeBytes = tx.Size()
		if v := b.meta.Get(metaLastChange); len(v) == timeLen {
			st.LastChange = getTime(v)
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("storage: stats: %w", err)
	}
	return st, nil
}
