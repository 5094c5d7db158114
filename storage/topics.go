package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/dedupe"
)

// ErrTopicNotIndexed means TopicNewest has no up-to-date index for the
// topic: SetTopics was not told about it, or was told a different version
// than the store holds (a read-only process cannot rebuild). Callers fall
// back to Newest and filter.
var ErrTopicNotIndexed = errors.New("storage: topic is not indexed")

// TopicDef tells the store about a topic so that it keeps an index of the
// topic's items by time, updated in the same transaction as the items
// (so it never disagrees with them, even after a crash).
type TopicDef struct {
	// Name is the topic's name: a slug, no NUL byte.
	Name string
	// Version changes whenever which items Match accepts may change (a
	// hash of the topic's definition and of the sources it resolves to).
	// A stored index of another version is rebuilt by SetTopics.
	Version string
	// Match reports whether an item belongs to the topic. It is called
	// inside write transactions, so it must be fast and must not call the
	// Store, and before them by concurrent SavePolls, so it must be safe
	// for concurrent use.
	Match func(it *tidings.Item) bool
}

// SetTopics tells the store which topics to index. Topics whose stored
// index has another version, or none, are rebuilt from every stored item;
// indexes of topics no longer given are deleted. From then on SavePoll,
// Prune and RemoveSource keep the indexes of these topics up to date. On a
// read-only store SetTopics only records the definitions: TopicNewest
// serves those whose stored version matches.
//
// A rebuild walks the store in batches of rebuildBatch items, each its own
// write transaction, so polls go on meanwhile (they index their items for
// the new definitions already); the version is written last, so until then,
// and after a crash midway, TopicNewest reports ErrTopicNotIndexed and the
// next SetTopics starts over.
func (s *Store) SetTopics(ctx context.Context, defs []TopicDef) error {
	defs = slices.Clone(defs)
	for _, d := range defs {
		if d.Name == "" || strings.IndexByte(d.Name, 0) >= 0 || d.Match == nil {
			return fmt.Errorf("storage: set topics: %w: topic %q", ErrInvalid, d.Name)
		}
	}
	s.topics.Store(&defs)
	if s.opts.ReadOnly {
		return nil
	}
	var stale []TopicDef
	err := s.update(ctx, func(tx *bolt.Tx) error {
		stale = nil
		b := s.buckets(tx)
		want := make(map[string]bool, len(defs))
		for _, d := range defs {
			want[d.Name] = true
			if !topicCurrent(b, d) {
				stale = append(stale, d)
			}
		}
		var gone [][]byte
		_ = b.topicVer.ForEach(func(k, _ []byte) error {
			if !want[string(k)] {
				gone = append(gone, bytes.Clone(k))
			}
			return nil
		})
		for _, name := range gone {
			if err := dropTopicIndex(b, string(name)); err != nil {
				return err
			}
		}
		for _, d := range stale {
			if err := dropTopicIndex(b, d.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: index topics: %w", err)
	}
	if len(stale) == 0 {
		return nil
	}
	var after []byte
	for done := false; !done; {
		err := s.update(ctx, func(tx *bolt.Tx) error {
			var err error
			after, done, err = indexBatch(ctx, s.buckets(tx), stale, after)
			return err
		})
		if err != nil {
			return fmt.Errorf("storage: index topics: %w", err)
		}
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		b := s.buckets(tx)
		for _, d := range stale {
			if err := b.topicVer.Put([]byte(d.Name), []byte(storedTopicVersion(d))); err != nil {
				return fmt.Errorf("put version of topic %q: %w", d.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: index topics: %w", err)
	}
	return nil
}

// rebuildBatch is how many items one transaction of a topic rebuild reads.
// A variable so that tests can cross batches with few items.
var rebuildBatch = 20000

// indexBatch indexes, in the topics defs, up to rebuildBatch items after the
// key after (from the start when nil); done reports the end of the items.
func indexBatch(ctx context.Context, b txBuckets, defs []TopicDef, after []byte) (last []byte, done bool, err error) {
	c := b.items.Cursor()
	k, v := c.First()
	if after != nil {
		k, v = c.Seek(after)
		if k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	type entry struct {
		topic      string
		key, value []byte
	}
	var puts []entry
	for n := 0; k != nil && n < rebuildBatch; k, v = c.Next() {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, false, err
			}
		}
		last = k
		var it tidings.Item
		if err := decodeItem(v, &it); err != nil {
			return nil, false, fmt.Errorf("item %q: %w", k, err)
		}
		for _, d := range defs {
			if d.Match(&it) {
				puts = append(puts, entry{d.Name, topicKey(d.Name, it.Published, it.FirstSeen, k), topicValue(&it)})
			}
		}
	}
	done = k == nil
	last = bytes.Clone(last)
	// Written after the walk, which must not see its bucket change; these
	// go to another bucket, but a cursor over a changing file is not worth
	// the risk.
	for _, e := range puts {
		if err := b.byTopic.Put(e.key, e.value); err != nil {
			return nil, false, fmt.Errorf("index in topic %q: %w", e.topic, err)
		}
	}
	return last, done, nil
}

// dropTopicIndex deletes a topic's index and version.
func dropTopicIndex(b txBuckets, name string) error {
	if err := b.topicVer.Delete([]byte(name)); err != nil {
		return fmt.Errorf("drop version of topic %q: %w", name, err)
	}
	prefix := append([]byte(name), 0)
	var keys [][]byte
	c := b.byTopic.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.byTopic.Delete(k); err != nil {
			return fmt.Errorf("drop index of topic %q: %w", name, err)
		}
	}
	return nil
}

// topicKey is the by_topic key of item ik in a topic.
func topicKey(topic string, published, firstSeen time.Time, ik []byte) []byte {
	b := make([]byte, 0, len(topic)+1+2*timeLen+len(ik))
	b = append(b, topic...)
	b = append(b, 0)
	b = putTime(b, published)
	b = putTime(b, firstSeen)
	return append(b, ik...)
}

// topicIndexFormat prefixes the version stored for a topic index: it
// changes with the layout of the index values, so that an index of an older
// layout no longer counts as current and is rebuilt by SetTopics (and read
// by scanning until then).
const topicIndexFormat = "2:"

// storedTopicVersion is what topic_versions holds for an up-to-date index
// of d.
func storedTopicVersion(d TopicDef) string { return topicIndexFormat + d.Version }

// topicCurrent reports whether the stored index of d is up to date.
func topicCurrent(b txBuckets, d TopicDef) bool {
	return string(b.topicVer.Get([]byte(d.Name))) == storedTopicVersion(d)
}

// topicValueLen is the length of a by_topic value: the item's Fingerprint
// and the dedupe.LinkHash of its story link, 8 bytes each, big-endian.
const topicValueLen = 16

// topicValue is the by_topic value of an item.
func topicValue(it *tidings.Item) []byte {
	v := make([]byte, 0, topicValueLen)
	v = binary.BigEndian.AppendUint64(v, it.Fingerprint)
	return binary.BigEndian.AppendUint64(v, dedupe.LinkHash(dedupe.StoryLink(it)))
}

// indexTopics puts or deletes the item's keys in every known topic's index
// as the topic matches it or not; matched, if not nil, says that for each
// of b.topics (found ahead, see analyzed).
func indexTopics(b txBuckets, ik []byte, it *tidings.Item, matched []bool) error {
	for j, d := range b.topics {
		k := topicKey(d.Name, it.Published, it.FirstSeen, ik)
		var err error
		if matched != nil && matched[j] || matched == nil && d.Match(it) {
			err = b.byTopic.Put(k, topicValue(it))
		} else {
			err = b.byTopic.Delete(k)
		}
		if err != nil {
			return fmt.Errorf("index item %q in topic %q: %w", it.ID, d.Name, err)
		}
	}
	return nil
}

// unindexTopics deletes the item's keys from every known topic's index.
func unindexTopics(b txBuckets, ik []byte, published, firstSeen time.Time) error {
	for _, d := range b.topics {
		if err := b.byTopic.Delete(topicKey(d.Name, published, firstSeen, ik)); err != nil {
			return fmt.Errorf("unindex item %q from topic %q: %w", ik, d.Name, err)
		}
	}
	return nil
}

// staleUnknownTopics forgets the version of every stored topic index this
// process does not maintain (another version, or a process that never
// called SetTopics), before a write that changes items: the index is then
// no longer trusted, and the next SetTopics rebuilds it.
func staleUnknownTopics(b txBuckets) error {
	known := make(map[string]string, len(b.topics))
	for _, d := range b.topics {
		known[d.Name] = storedTopicVersion(d)
	}
	var stale [][]byte
	_ = b.topicVer.ForEach(func(k, v []byte) error {
		if ver, ok := known[string(k)]; !ok || ver != string(v) {
			stale = append(stale, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range stale {
		if err := b.topicVer.Delete(k); err != nil {
			return fmt.Errorf("mark topic %q stale: %w", k, err)
		}
	}
	return nil
}

// TopicHint is what a topic index tells about an item without reading it.
type TopicHint struct {
	Published, FirstSeen time.Time
	Fingerprint          uint64 // the item's Fingerprint
	LinkHash             uint64 // dedupe.LinkHash of dedupe.StoryLink of the item
}

// TopicNewest calls fn for the items of a topic newest first by Published
// (ties as in Newest), until fn returns false or the items run out, reading
// the topic's index rather than the whole store. It fails with
// ErrTopicNotIndexed if the topic has no up-to-date index (see SetTopics).
// The same rules as for Newest hold for fn.
func (s *Store) TopicNewest(ctx context.Context, topic string, fn func(it *tidings.Item) bool) error {
	return s.TopicNewestSkip(ctx, topic, "", nil, fn)
}

// TopicNewestSkip is TopicNewest, but first calls skip (if not nil) with
// what the index holds about each item, and passes over the items for which
// it returns true without reading them. A version other than "" must be
// the TopicDef.Version the index is kept by, or the walk fails with
// ErrTopicNotIndexed: a caller whose definition of the topic is newer than
// the store's (a reload whose SetTopics has not run yet) can then trust
// that every item walked matches its own definition.
func (s *Store) TopicNewestSkip(ctx context.Context, topic, version string, skip func(TopicHint) bool, fn func(it *tidings.Item) bool) error {
	var def *TopicDef
	if p := s.topics.Load(); p != nil {
		for i := range *p {
			if (*p)[i].Name == topic {
				def = &(*p)[i]
			}
		}
	}
	if def == nil || version != "" && def.Version != version {
		return fmt.Errorf("storage: walk topic %q: %w", topic, ErrTopicNotIndexed)
	}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := s.buckets(tx)
		if !topicCurrent(b, *def) {
			return ErrTopicNotIndexed
		}
		prefix := append([]byte(topic), 0)
		c := b.byTopic.Cursor()
		var k, v []byte
		if k, _ = c.Seek(append([]byte(topic), 1)); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		// One cursor for every item read: Bucket.Get makes one per call.
		items := b.items.Cursor()
		n := 0
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if skip != nil && len(v) == topicValueLen {
				t := k[len(prefix):]
				h := TopicHint{
					Published:   getTime(t),
					FirstSeen:   getTime(t[timeLen:]),
					Fingerprint: binary.BigEndian.Uint64(v),
					LinkHash:    binary.BigEndian.Uint64(v[8:]),
				}
				if skip(h) {
					continue
				}
			}
			ik := k[len(prefix)+2*timeLen:]
			got, iv := items.Seek(ik)
			if iv == nil || !bytes.Equal(got, ik) {
				return fmt.Errorf("topic index names missing item %q", ik)
			}
			it := new(tidings.Item)
			if err := decodeItem(iv, it); err != nil {
				return fmt.Errorf("item %q: %w", ik, err)
			}
			if !fn(it) {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: walk topic %q: %w", topic, err)
	}
	return nil
}
