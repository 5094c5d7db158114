package storage

import (
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// releaseAfter is how long after a read the store looks at how much of
// the file it has mapped; reads meanwhile share the one look.
const releaseAfter = 100 * time.Millisecond

// releaseAbove is how much mapped from files the process keeps: past it
// the store's mappings are released. Below it they stay, so that a topic's
// pages, read on every render, need not be faulted in again each time:
// released after every render, mapping them again took 15 ms of a render's
// CPU at the 99th percentile, five times the whole render.
const releaseAbove = 64 << 20

// mapped drops the process's mappings of the store file's pages a moment
// after they were read, when they come to more than releaseAbove. bbolt reads through a memory map, and for each
// page read the kernel maps the cached pages around it (64 KB), so reads
// scattered over a large store (every source's state at start-up, a poll
// cycle, a topic's index) leave hundreds of megabytes of clean page cache
// counted in the daemon's resident set: 450 MB after start-up with 10,000
// sources and a 3.3 GB store in the page cache, against 45 MB of memory
// of its own. Counted there, they weigh in the kernel's choice of a
// process to kill when memory runs out, and make the daemon look heavier
// than it is to whoever watches its RSS. Released, they stay in the page
// cache, and the next read of one maps it again (a minor fault, about a
// microsecond per 64 KB).
type mapped struct {
	db      *bolt.DB
	pending atomic.Bool // a release is scheduled
	enabled bool        // the platform can release (see releaseMapped)
	above   int64       // releaseAbove; tests lower it
}

// touched records that pages were read: they are released releaseAfter
// from the first read since the last release.
func (m *mapped) touched() {
	if !m.enabled || !m.pending.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(releaseAfter, m.release)
}

// releaseEvery is how many records a long walk in one transaction reads
// between releases (releaseIn).
const releaseEvery = 1000

// releaseIn drops the mappings from within the read transaction tx, for a
// walk too long to wait for its end: the data it has read stays valid,
// read again from the page cache when touched. (release cannot be called
// there: a second read transaction in the same goroutine could wait
// forever behind a writer waiting to remap.)
func (m *mapped) releaseIn(tx *bolt.Tx) {
	if m.enabled && m.over() {
		_ = releaseMapped(tx.DB().Info().Data, int(tx.Size()))
	}
}

// over reports whether the process has more than releaseAbove mapped
// from files.
func (m *mapped) over() bool {
	n, ok := fileMapped()
	return ok && n > m.above
}

// release drops the mappings now. A read transaction holds bbolt's map in
// place (it is remapped only when no transaction is open), so the range
// released is the map, not whatever the address space holds there after a
// remap. Transactions reading meanwhile fault their pages in again. On a
// closed store View fails and there is nothing to release.
func (m *mapped) release() {
	m.pending.Store(false)
	if !m.over() {
		return
	}
	_ = m.db.View(func(tx *bolt.Tx) error {
		return releaseMapped(tx.DB().Info().Data, int(tx.Size()))
	})
}
