package storage

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pruneBatch is how many items one write transaction of Prune deletes by
// retention: a first prune of a big store must not hold the writer lock
// (and block every poll) for seconds. A variable so tests can cross
// batches with few items.
var pruneBatch = 5000

// Prune deletes items first seen before now-Retention, and per source every
// item beyond the MaxItemsPerSource newest (by Published, ties as in
// Newest); each deleted item's identity is tombstoned, so a source still
// listing it does not bring it back. It returns how many items were
// deleted, also when it stops early on an error. It works in batches, each
// its own transaction, so polls are not held up by a long prune.
func (s *Store) Prune(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: prune: %w", err)
	}
	total := 0
	defer func() {
		if total > 0 {
			s.gen.Add(1)
		}
	}()
	now := s.now().UTC()
	if s.opts.Retention > 0 {
		cutoff := now.Add(-s.opts.Retention)
		for {
			n, err := s.pruneSeenBefore(ctx, cutoff, now)
			total += n
			if err != nil {
				return total, fmt.Errorf("storage: prune items first seen before %s: %w", cutoff.Format(time.RFC3339), err)
			}
			if n < pruneBatch {
				break
			}
		}
	}
	if limit := s.opts.MaxItemsPerSource; limit > 0 {
		var over []string
		err := s.view(ctx, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCounts).ForEach(func(k, v []byte) error {
				if getCount(v) > uint64(limit) {
					over = append(over, string(k))
				}
				return nil
			})
		})
		if err != nil {
			return total, fmt.Errorf("storage: prune: find sources over %d items: %w", limit, err)
		}
		for _, source := range over {
			n, err := s.pruneSourceBeyond(ctx, source, limit, now)
			total += n
			if err != nil {
				return total, fmt.Errorf("storage: prune %q to %d items: %w", source, limit, err)
			}
		}
	}
	return total, nil
}

// pruneSeenBefore deletes and tombstones up to pruneBatch items first seen
// before cutoff, oldest first, in one transaction.
func (s *Store) pruneSeenBefore(ctx context.Context, cutoff, now time.Time) (int, error) {
	limit := putTime(nil, cutoff)
	deleted := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		deleted = 0
		b := s.buckets(tx)
		if err := staleUnknownTopics(b); err != nil {
			return err
		}
		type victim struct{ key, published []byte }
		var victims []victim
		c := b.bySeen.Cursor()
		for k, v := c.First(); k != nil && len(victims) < pruneBatch; k, v = c.Next() {
			if bytes.Compare(k[:timeLen], limit) >= 0 {
				break
			}
			victims = append(victims, victim{bytes.Clone(k), bytes.Clone(v)})
		}
		perSource := map[string]uint64{}
		tomb := putTime(nil, now)
		for i, vic := range victims {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			ik := vic.key[timeLen:]
			if err := deleteItem(b, ik, getTime(vic.published), getTime(vic.key[:timeLen]), true); err != nil {
				return err
			}
			if err := b.tombs.Put(ik, tomb); err != nil {
				return fmt.Errorf("tombstone: %w", err)
			}
			source, _ := splitItemKey(ik)
			perSource[source]++
		}
		for source, n := range perSource {
			key := []byte(source)
			have := getCount(b.counts.Get(key))
			if err := putCount(b.counts, key, have-min(have, n)); err != nil {
				return fmt.Errorf("count items of %q: %w", source, err)
			}
		}
		deleted = len(victims)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return deleted, nil
}

// pruneSourceBeyond deletes and tombstones every item of source but the
// limit newest, in one transaction, and rewrites the source's count from
// its index.
func (s *Store) pruneSourceBeyond(ctx context.Context, source string, limit int, now time.Time) (int, error) {
	deleted := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		deleted = 0
		b := s.buckets(tx)
		if err := staleUnknownTopics(b); err != nil {
			return err
		}
		keys := sourceIndexKeys(b.bySource, source)
		if len(keys) <= limit {
			return putCount(b.counts, []byte(source), uint64(len(keys)))
		}
		tomb := putTime(nil, now)
		p := len(source) + 1
		// by_source sorts oldest first, so the victims lead.
		for i, k := range keys[:len(keys)-limit] {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			published, firstSeen := getTime(k[p:]), getTime(k[p+timeLen:])
			ik := itemKey(source, string(k[p+2*timeLen:]))
			if err := deleteItem(b, ik, published, firstSeen, true); err != nil {
				return err
			}
			if err := b.tombs.Put(ik, tomb); err != nil {
				return fmt.Errorf("tombstone: %w", err)
			}
		}
		deleted = len(keys) - limit
		return putCount(b.counts, []byte(source), uint64(limit))
	})
	if err != nil {
		return 0, err
	}
	return deleted, nil
}

// sourceIndexKeys returns copies of the by_source keys of source, oldest
// first.
func sourceIndexKeys(bySource *bolt.Bucket, source string) [][]byte {
	prefix := sourcePrefix(source)
	var keys [][]byte
	c := bySource.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

// RemoveSource deletes a source's items, state and tombstones, for sources
// dropped from the config. Its items are not tombstoned: a source added
// again later starts afresh.
func (s *Store) RemoveSource(ctx context.Context, source string) error {
	if err := validSource(source); err != nil {
		return fmt.Errorf("storage: remove source: %w", err)
	}
	deleted := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		deleted = 0
		b := s.buckets(tx)
		if err := staleUnknownTopics(b); err != nil {
			return err
		}
		keys := sourceIndexKeys(b.bySource, source)
		p := len(source) + 1
		for i, k := range keys {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			ik := itemKey(source, string(k[p+2*timeLen:]))
			if err := deleteItem(b, ik, getTime(k[p:]), getTime(k[p+timeLen:]), false); err != nil {
				return err
			}
		}
		deleted = len(keys)
		if err := dropUnlistedTombs(b, source, nil); err != nil {
			return err
		}
		if err := b.counts.Delete([]byte(source)); err != nil {
			return fmt.Errorf("delete count: %w", err)
		}
		if err := b.states.Delete([]byte(source)); err != nil {
			return fmt.Errorf("delete state: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: remove source %q: %w", source, err)
	}
	if deleted > 0 {
		s.gen.Add(1)
	}
	return nil
}
