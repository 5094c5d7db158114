package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Backup writes a consistent copy of the whole store to w, as of one
// instant, while polls go on: it runs in a read transaction (bbolt
// Tx.WriteTo), so writers are not blocked, though a long copy keeps the
// file from reusing freed pages until it ends. The copy is itself a store
// that Open accepts. If onSize is not nil it is called with the copy's exact
// length before the first byte is written (for a Content-Length, so that a
// receiver can tell a cut-short copy). It returns the bytes written.
func (s *Store) Backup(ctx context.Context, w io.Writer, onSize func(int64)) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if onSize != nil {
			onSize(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(&ctxWriter{ctx: ctx, w: w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("storage: back up %s: %w", s.path, err)
	}
	return n, nil
}

// ctxWriter stops a copy when its context ends (a client that went away).
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// compactTxSize is how many bytes Compact copies per transaction into the
// new file: large enough to be fast, small enough to bound memory.
const compactTxSize = 64 << 20

// Compact rewrites the store at path into a fresh file without the free
// pages that pruning leaves behind, then replaces the original with it, and
// returns the file sizes before and after. It needs the store to itself:
// with a daemon running it fails with ErrLocked within lockTimeout. A crash
// midway leaves the original untouched (the copy is written next to it and
// renamed over it only once synced).
func Compact(ctx context.Context, path string, lockTimeout time.Duration) (before, after int64, err error) {
	if lockTimeout <= 0 {
		lockTimeout = DefaultLockTimeout
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("storage: compact %s: %w", path, err)
	}
	before = fi.Size()
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, FreelistType: bolt.FreelistMapType})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return before, 0, &lockedError{path: path}
	case err != nil:
		return before, 0, fmt.Errorf("storage: compact %s: %w", path, err)
	}
	defer src.Close()
	if err := src.View(checkSchema); err != nil {
		return before, 0, fmt.Errorf("storage: compact %s: %w", path, err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".compact")
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, fi.Mode().Perm(), &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		return before, 0, fmt.Errorf("storage: compact %s: create %s: %w", path, tmp, err)
	}
	err = bolt.Compact(dst, src, compactTxSize)
	if err == nil {
		err = ctx.Err()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return before, 0, fmt.Errorf("storage: compact %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return before, 0, fmt.Errorf("storage: compact %s: replace with the copy: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the rename durable
		_ = d.Close()
	}
	if fi, err := os.Stat(path); err == nil {
		after = fi.Size()
	}
	return before, after, nil
}
