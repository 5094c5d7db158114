package storage

import (
	"bytes"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/tidings/tidings"
)

// migrateBatch is how many items the migration rewrites per cursor pass:
// bbolt cursors must not walk a bucket while it is written, so each pass
// reads a batch, writes it, and seeks past it.
const migrateBatch = 10000

// migrate brings a store of schema version from up to schemaVersion, in the
// Open transaction: a crash midway leaves the old store untouched.
func (s *Store) migrate(tx *bolt.Tx, from int) error {
	if err := checkBuckets(tx, v1Buckets); err != nil {
		return err
	}
	if from < 2 {
		if err := migrateV1(tx); err != nil {
			return fmt.Errorf("schema 2: %w", err)
		}
	}
	return tx.Bucket(bucketMeta).Put(metaSchema, []byte(strconv.Itoa(schemaVersion)))
}

// migrateV1 adds the schema 2 buckets, fingerprints every item and indexes
// it by story. Topic indexes are built by the first SetTopics.
func migrateV1(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketByStory, bucketByTopic, bucketTopicVer} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %q: %w", name, err)
		}
	}
	items, byStory := tx.Bucket(bucketItems), tx.Bucket(bucketByStory)
	b := txBuckets{items: items, byStory: byStory}
	var after []byte
	for {
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
		for ; k != nil && len(batch) < migrateBatch; k, v = c.Next() {
			var it tidings.Item
			if err := decodeItem(v, &it); err != nil {
				return fmt.Errorf("item %q: %w", k, err)
			}
			batch = append(batch, rewrite{bytes.Clone(k), it})
		}
		if len(batch) == 0 {
			return nil
		}
		for i := range batch {
			it := &batch[i].it
			text := analyze(it)
			if err := putItem(b, batch[i].key, it); err != nil {
				return err
			}
			if err := putStory(b, it, text); err != nil {
				return err
			}
		}
		after = batch[len(batch)-1].key
	}
}
