package storage

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/tidings/tidings"
)

// errNeedsMigration tells Open that the store has an older schema.
var errNeedsMigration = errors.New("storage: store needs migration")

// migrateBatch is how many items one migration transaction rewrites: a
// store of a million items is migrated in a hundred transactions rather
// than one that would hold the whole rewritten file in memory.
var migrateBatch = 10000

// migrate brings a store of an older schema up to schemaVersion. It works in
// batches, each its own transaction, and every step can be repeated: a crash
// midway leaves a store that is still of the old version (the version is
// written last) and whose next Open carries on where this one stopped.
func (s *Store) migrate() error {
	var from int
	err := s.write(func(tx *bolt.Tx) error {
		var err error
		if from, err = storedSchema(tx); err != nil {
			return err
		}
		if err := checkBuckets(tx, v1Buckets); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketByStory, bucketByTopic, bucketTopicVer} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %q: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate store: %w", err)
	}
	var after []byte
	for done := false; !done; {
		err := s.write(func(tx *bolt.Tx) error {
			var err error
			after, done, err = migrateV1Batch(tx, after)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate store from schema %d to %d: %w", from, schemaVersion, err)
		}
	}
	err = s.write(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Put(metaSchema, []byte(strconv.Itoa(schemaVersion))); err != nil {
			return err
		}
		return checkSchema(tx)
	})
	if err != nil {
		return fmt.Errorf("migrate store from schema %d to %d: %w", from, schemaVersion, err)
	}
	return nil
}

// migrateV1Batch fingerprints up to migrateBatch items after the key after
// (all from the start when nil) that are still in the schema 1 format, and
// indexes them by story. Topic indexes are built by the first SetTopics.
func migrateV1Batch(tx *bolt.Tx, after []byte) (last []byte, done bool, err error) {
	items, byStory := tx.Bucket(bucketItems), tx.Bucket(bucketByStory)
	b := txBuckets{items: items, byStory: byStory}
	type rewrite struct {
		key []byte
		it  tidings.Item
	}
	var batch []rewrite
	c := items.Cursor()
	k, v := c.First()
	if after != nil {
		k, v = c.Seek(after)
		if k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	seen := 0
	for ; k != nil && seen < migrateBatch; k, v = c.Next() {
		seen++
		last = bytes.Clone(k)
		if len(v) > 0 && v[0] == itemFormatV2 {
			continue // migrated by an earlier, interrupted run
		}
		var it tidings.Item
		if err := decodeItem(v, &it); err != nil {
			return nil, false, fmt.Errorf("item %q: %w", k, err)
		}
		batch = append(batch, rewrite{last, it})
	}
	// Written after the walk: a bbolt cursor must not move over a bucket
	// that is being changed.
	for i := range batch {
		it := &batch[i].it
		text := analyze(it)
		if err := putItem(b, batch[i].key, it); err != nil {
			return nil, false, err
		}
		if err := putStory(b, it, text); err != nil {
			return nil, false, err
		}
	}
	return last, k == nil, nil
}
