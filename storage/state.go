package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds how many writes one group commit carries, so that a
// burst of big polls does not build one huge transaction (memory for its
// dirty pages, and a long hold of the writer lock for the calls at its end).
const maxGroup = 128

// committer is a group-commit queue: writes that arrive while a commit is
// under way wait for it to end and then go to disk together, in one
// transaction and one pair of fsyncs. A write that arrives while the store
// is idle commits at once, alone, so a single writer waits for nothing.
//
// bbolt's own DB.Batch does the same on a timer (it waits up to 10 ms for
// company before committing), which makes a lone writer slower than
// DB.Update: that is why it was kept off SavePoll before (STYLE §8).
type committer struct {
	mu      sync.Mutex
	queue   []*groupCall
	leading bool // a goroutine is committing the queue, or about to
}

type groupCall struct {
	fn func(*bolt.Tx) error
	// res carries the call's outcome, or errLead when it is to commit the
	// queue itself. Buffered, so that a sender never waits.
	res chan error
}

var (
	// errLead tells a waiting call that it now commits the queue.
	errLead = errors.New("storage: lead the group commit")
	// errSolo tells a call that its fn failed inside a group and must be
	// run again in a transaction of its own, to get its own outcome without
	// holding up the others.
	errSolo = errors.New("storage: run alone")
)

// group runs fn in a write transaction that it may share with other group
// calls (see committer): fn's writes still commit all together or not at
// all, and group returns only once they are on disk. fn may run more than
// once (a failing fn in a group is run again alone, and the others again
// without it), so it must not change anything but the transaction and
// values it resets at its start.
func (s *Store) group(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	c := &groupCall{fn: fn, res: make(chan error, 1)}
	g := &s.commit
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()

	if !lead {
		// Wait until a leader has committed this call, or hands over.
		err := <-c.res
		if err != errLead {
			return s.result(c, err)
		}
	}
	// Commit what is queued now: this call and all that came while the
	// last commit was running (up to maxGroup).
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	calls := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	s.commitGroup(calls)

	// Hand over to the first call that queued meanwhile; it commits the
	// queue as it stands when it wakes, so the group grows in the meantime.
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].res <- errLead
	} else {
		g.leading = false
		g.queue = nil // let the old backing array go
	}
	g.mu.Unlock()
	return s.result(c, <-c.res)
}

// result is the outcome of a group call: err, unless fn failed in a group
// and must be run again alone.
func (s *Store) result(c *groupCall, err error) error {
	if err == errSolo {
		defer s.mapped.touched()
		return s.write(c.fn)
	}
	return err
}

// commitGroup runs calls in one write transaction and sends each its
// outcome. A fn that fails (or panics) is taken out and told to run alone,
// and the others run again in a new transaction: one bad poll does not
// cost the others theirs. A failed commit (disk full) fails them all.
func (s *Store) commitGroup(calls []*groupCall) {
	defer s.mapped.touched()
	for len(calls) > 0 {
		failed := -1
		err := s.write(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := callSafely(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].res <- errSolo
			calls = append(calls[:failed:failed], calls[failed+1:]...)
			continue
		}
		for _, c := range calls {
			c.res <- err
		}
		return
	}
}

// callSafely runs fn, turning a panic into an error so that the leader
// survives it; the call then panics again in its own goroutine when it is
// run alone.
func callSafely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("storage: panic in a grouped write: %v", p)
		}
	}()
	return fn(tx)
}
