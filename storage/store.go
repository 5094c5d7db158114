// Package storage keeps items, per-source polling state and tombstones of
// pruned items in one bbolt file.
//
// Its API is deliberately narrow and free of bbolt types (DESIGN §7), so that
// a PostgreSQL backend can implement the same methods later without touching
// the fetcher or the feed publisher.
//
// A Store is safe for concurrent use by several goroutines. bbolt lets one
// process hold the file for writing: a second Open of the same path fails
// with ErrLocked within Options.LockTimeout instead of hanging.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrLocked means another process (usually `tidings serve`) holds the
	// store. Stop it, or ask it over its HTTP admin endpoints instead.
	ErrLocked = errors.New("storage: store is in use by another process; stop it or ask the running daemon instead")
	// ErrNotFound means the requested item does not exist.
	ErrNotFound = errors.New("storage: not found")
	// ErrReadOnly means a write was attempted on a store opened with
	// Options.ReadOnly.
	ErrReadOnly = errors.New("storage: store is open read-only")
	// ErrNewerSchema means the file was written by a newer Tidings whose
	// layout this one does not understand; upgrade Tidings to open it.
	ErrNewerSchema = errors.New("storage: store was written by a newer version of Tidings; upgrade tidings")
	// ErrOldSchema means a read-only Open found a store of an older layout,
	// which only a read-write Open migrates.
	ErrOldSchema = errors.New("storage: store was written by an older version of Tidings")
	// ErrNotStore means the file is a bbolt database but not a Tidings store,
	// or not a bbolt database at all.
	ErrNotStore = errors.New("storage: not a Tidings store")
	// ErrInvalid means an argument cannot be stored: an empty source name or
	// item ID, a source name with a NUL byte, or an item of another source.
	ErrInvalid = errors.New("storage: invalid source or item")
)

// schemaVersion is the layout this code reads and writes. Opening a store
// with a higher version fails rather than misreading it; a lower one is
// migrated in place on a read-write Open (migrate.go).
//
//	1  Tidings 1.0: items, time indexes, counts, tombstones, states
//	2  items carry a near-duplicate fingerprint; by_story (GUID churn) and
//	   by_topic/topic_versions (the topic index) buckets
const schemaVersion = 2

// DefaultLockTimeout is how long Open waits for another process's lock when
// Options.LockTimeout is zero: long enough to ride out a short-lived
// command, short enough that a user is not left staring at a hang.
const DefaultLockTimeout = 2 * time.Second

// Bucket names. See keys.go for the key layouts.
var (
	bucketMeta     = []byte("meta")           // schema version, last change
	bucketItems    = []byte("items")          // source\x00id → encoded item
	bucketByTime   = []byte("by_time")        // published·firstSeen·source\x00id → nothing
	bucketBySeen   = []byte("by_seen")        // firstSeen·source\x00id → published
	bucketBySource = []byte("by_source")      // source\x00·published·firstSeen·id → nothing
	bucketCounts   = []byte("counts")         // source → item count (uint64)
	bucketTombs    = []byte("tombs")          // source\x00id → time tombstoned
	bucketStates   = []byte("states")         // source → encoded SourceState
	bucketByStory  = []byte("by_story")       // source\x00 kind key → id, see story.go
	bucketByTopic  = []byte("by_topic")       // topic\x00 published·firstSeen·source\x00id → fingerprint, link hash
	bucketTopicVer = []byte("topic_versions") // topic → index layout and version of the definition indexed

	// v1Buckets are the buckets of schema 1; allBuckets those of the current one.
	v1Buckets = [][]byte{bucketMeta, bucketItems, bucketByTime, bucketBySeen,
		bucketBySource, bucketCounts, bucketTombs, bucketStates}
	allBuckets = append(v1Buckets[:len(v1Buckets):len(v1Buckets)], bucketByStory, bucketByTopic, bucketTopicVer)

	metaSchema     = []byte("schema")
	metaLastChange = []byte("last_change")
)

// Options tune a Store. The zero value is usable: wait 2s for the lock,
// keep items forever, no per-source limit, the real clock, read-write.
type Options struct {
	// LockTimeout is how long Open waits for another process's lock; zero
	// means DefaultLockTimeout. Longer rides out overlapping cron jobs,
	// shorter reports a running daemon sooner.
	LockTimeout time.Duration
	// Retention prunes items first seen longer ago than this; 0 keeps them
	// forever. Pruned identities are tombstoned, so they do not come back.
	Retention time.Duration
	// MaxItemsPerSource keeps only the newest (by Published) items of each
	// source when pruning; 0 means unlimited.
	MaxItemsPerSource int
	// Now is the clock, injectable for tests; nil means time.Now.
	Now func() time.Time
	// ReadOnly opens the store with a shared lock, for render/export while
	// no daemon runs. Several readers may share it; no writer can. The
	// store must already exist; writes fail with ErrReadOnly.
	ReadOnly bool
}

// Store is an open store. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opts Options
	now  func() time.Time
	gen  atomic.Uint64
	// commit groups the writes of polls finishing together (state.go).
	commit committer

	topics atomic.Pointer[[]TopicDef] // set by SetTopics; nil until then
	// mapped releases the file's pages the process has mapped (mapped.go).
	mapped mapped
}

// lockedError names the path that is locked; it unwraps to ErrLocked.
type lockedError struct{ path string }

func (e *lockedError) Error() string {
	return "storage: " + e.path + " is in use by another process (is `tidings serve` running?); " +
		"stop it, or let commands ask the running daemon"
}

func (e *lockedError) Unwrap() error { return ErrLocked }

// Open opens or creates the store at path, creating its folder. If another
// process holds it, Open fails within LockTimeout with an error wrapping
// ErrLocked whose message names the path and says "is in use by another
// process (is `tidings serve` running?)". A store written by a newer Tidings
// fails with ErrNewerSchema; a file that is not a store, with ErrNotStore.
// With ReadOnly a missing store fails with an error wrapping fs.ErrNotExist.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("storage: create folder for %s: %w", path, err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opts.LockTimeout,
		ReadOnly: opts.ReadOnly,
		// The hash-map freelist stays fast as a store of a million items
		// fragments; the array default degrades.
		FreelistType: bolt.FreelistMapType,
		// bbolt maps the file at twice its size, and each time it outgrows
		// that it remaps it: waiting for every read transaction to end,
		// unmapping, and faulting the pages in again. A new store went
		// through a dozen remaps in its first 34 MB, 4% of the CPU of a
		// first ingest (bench/ingest). Address space costs nothing until
		// touched, so the first map is large (see initialMap); the file
		// itself still grows in steps that follow its size (allocStep).
		InitialMmapSize: initialMap,
	})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, &lockedError{path: path}
	case opts.ReadOnly && errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("storage: open %s read-only: no store there yet (run `tidings fetch` first): %w", path, err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
		return nil, fmt.Errorf("storage: open %s: %w (%w)", path, ErrNotStore, err)
	case err != nil:
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, opts: opts, now: now, mapped: mapped{db: db, enabled: canReleaseMapped, above: releaseAbove}}
	if opts.ReadOnly {
		err = db.View(checkSchema)
	} else {
		err = s.write(s.initSchema)
		if errors.Is(err, errNeedsMigration) {
			err = s.migrate()
		}
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	return s, nil
}

// checkSchema fails unless tx holds a store of the current schema version.
// An older store opened read-only cannot be migrated, so it is refused with
// a message saying how to migrate it.
func checkSchema(tx *bolt.Tx) error {
	v, err := storedSchema(tx)
	if err != nil {
		return err
	}
	if v < schemaVersion {
		return fmt.Errorf("%w: store has schema version %d and must be migrated to %d; run `tidings fetch` or `tidings serve` once", ErrOldSchema, v, schemaVersion)
	}
	return checkBuckets(tx, allBuckets)
}

// storedSchema returns the schema version of the store in tx, failing for
// a file that is no store or one newer than this code.
func storedSchema(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, fmt.Errorf("%w: no %q bucket", ErrNotStore, bucketMeta)
	}
	raw := meta.Get(metaSchema)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return 0, fmt.Errorf("%w: schema version %q", ErrNotStore, raw)
	}
	if v > schemaVersion {
		return 0, fmt.Errorf("%w (store has schema version %d, this Tidings reads up to %d)", ErrNewerSchema, v, schemaVersion)
	}
	return v, nil
}

// checkBuckets fails unless every bucket in names exists.
func checkBuckets(tx *bolt.Tx, names [][]byte) error {
	for _, name := range names {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: no %q bucket", ErrNotStore, name)
		}
	}
	return nil
}

// initSchema creates the buckets of a new store, or checks an existing one
// and migrates it to the current schema. A bbolt file holding other buckets
// but no meta is someone else's database and is left alone.
func (s *Store) initSchema(tx *bolt.Tx) error {
	if tx.Bucket(bucketMeta) == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error {
			empty = false
			return nil
		})
		if !empty {
			return fmt.Errorf("%w: it holds other data", ErrNotStore)
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("create bucket %q: %w", name, err)
			}
		}
		return tx.Bucket(bucketMeta).Put(metaSchema, []byte(strconv.Itoa(schemaVersion)))
	}
	v, err := storedSchema(tx)
	if err != nil {
		return err
	}
	if v < schemaVersion {
		return errNeedsMigration
	}
	return checkSchema(tx)
}

// Close closes the store. Callers must let in-flight calls finish first;
// Close waits for open transactions but later calls fail.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", s.path, err)
	}
	return nil
}

// Path returns the path the store was opened at.
func (s *Store) Path() string { return s.path }

// Generation returns a counter that increases on every write that changes
// items (SavePoll adding or updating one, Prune or RemoveSource deleting
// one), so the HTTP layer can invalidate caches cheaply. It starts at 0 on
// Open and counts this process's writes only.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// update runs fn in a write transaction, refusing early when the context is
// done or the store is read-only.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	defer s.mapped.touched()
	return s.write(fn)
}

// write runs fn in a write transaction of bbolt's, having first set the
// step in which bbolt grows the file should this transaction need more
// room. Unless it is told otherwise, bbolt grows a file mapped larger than
// its AllocSize (as initialMap makes every store) by 16 MB at a time: a
// new store would take 16 MB of disk for its first item, and a disk with
// less room left would refuse the first write. The step is the size the
// store has (doubling it, as bbolt does with its default map), between
// 32 KB and bbolt's 16 MB. It is set in the write transaction, under
// bbolt's writer lock, which is where bbolt reads it. Every write of the
// store goes through here.
func (s *Store) write(fn func(tx *bolt.Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		tx.DB().AllocSize = allocStep(tx.Size())
		return fn(tx)
	})
}

// allocStep is how much the file grows when a store of size bytes is
// full.
func allocStep(size int64) int {
	return int(min(max(size, 32<<10), 16<<20))
}

// view runs fn in a read transaction unless the context is already done.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer s.mapped.touched()
	return s.db.View(fn)
}
