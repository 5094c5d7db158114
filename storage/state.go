package storage

import (
	"context"

	bolt "go.etcd.io/bbolt"
)

// batch runs fn in a write transaction shared with concurrent batch calls
// (bbolt's Batch: up to 10ms apart), so that many small writes finishing
// together cost a few disk syncs instead of one each. fn may run more than
// once and must be idempotent.
func (s *Store) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	return s.db.Batch(fn)
}
