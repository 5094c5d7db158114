package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/tidings/tidings"
)

// ErrCorrupt means Verify found indexes that disagree with the items.
var ErrCorrupt = errors.New("storage: store is inconsistent")

// Verify checks that the store is consistent: every item decodes and is
// stored under its own source and ID; it has exactly its by_time, by_seen
// and by_source entries; the per-source counts add up; its story keys name
// stored items of its source; every up-to-date topic index (see SetTopics)
// holds exactly the items its topic matches. It reports up to ten problems
// in an error wrapping ErrCorrupt. It reads the whole store in one read
// transaction: for tests, crash checks and `tidings check --store`-style
// tools, not for the request path.
func (s *Store) Verify(ctx context.Context) error {
	var problems []string
	bad := func(format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := s.buckets(tx)
		counts := map[string]int{}
		inTopic := map[string]int{}
		var current []TopicDef
		for _, d := range b.topics {
			if topicCurrent(b, d) {
				current = append(current, d)
			}
		}
		n := 0
		err := b.items.ForEach(func(k, v []byte) error {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var it tidings.Item
			if err := decodeItem(v, &it); err != nil {
				bad("item %q: %v", k, err)
				return nil
			}
			source, id := splitItemKey(k)
			if source != it.Source || id != it.ID {
				bad("item at key %q is %q/%q", k, it.Source, it.ID)
			}
			counts[source]++
			if b.byTime.Get(timeKey(it.Published, it.FirstSeen, k)) == nil {
				bad("item %q has no by_time entry", k)
			}
			if v := b.bySeen.Get(seenKey(it.FirstSeen, k)); v == nil || !getTime(v).Equal(it.Published) {
				bad("item %q has no right by_seen entry", k)
			}
			if b.bySource.Get(bySourceKey(source, id, it.Published, it.FirstSeen)) == nil {
				bad("item %q has no by_source entry", k)
			}
			for _, d := range current {
				v := b.byTopic.Get(topicKey(d.Name, it.Published, it.FirstSeen, k))
				in := v != nil
				if m := d.Match(&it); m != in {
					bad("item %q: topic %q matches it: %v, indexed: %v", k, d.Name, m, in)
				}
				if in && !bytes.Equal(v, topicValue(&it)) {
					bad("item %q: topic %q index value %x, want %x", k, d.Name, v, topicValue(&it))
				}
				if in {
					inTopic[d.Name]++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		for name, bucket := range map[string]*bolt.Bucket{"by_time": b.byTime, "by_seen": b.bySeen, "by_source": b.bySource} {
			if n := bucket.Stats().KeyN; n != total {
				bad("%s has %d entries, items has %d", name, n, total)
			}
		}
		stored := map[string]int{}
		_ = b.counts.ForEach(func(k, v []byte) error {
			stored[string(k)] = int(getCount(v))
			return nil
		})
		if !maps.Equal(stored, counts) {
			bad("counts bucket = %v, items per source = %v", stored, counts)
		}
		_ = b.byStory.ForEach(func(k, v []byte) error {
			source, _ := splitItemKey(k)
			if ik := itemKey(source, string(v)); b.items.Get(ik) == nil && b.tombs.Get(ik) == nil {
				bad("story key %q names %q, neither stored nor tombstoned", k, v)
			}
			return nil
		})
		for _, d := range current {
			prefix := append([]byte(d.Name), 0)
			keys := 0
			c := b.byTopic.Cursor()
			for k, _ := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
				keys++
			}
			if keys != inTopic[d.Name] {
				bad("topic %q index has %d entries for %d matching items", d.Name, keys, inTopic[d.Name])
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: verify: %w", err)
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("%w: %q", ErrCorrupt, problems)
	}
	return nil
}
