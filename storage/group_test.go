package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidings/tidings"
)

// txID is the id the next write transaction of s gets.
func txID(tb testing.TB, s *Store) int {
	tb.Helper()
	var id int
	if err := s.db.Update(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		tb.Fatal(err)
	}
	return id + 1
}

// queueWhileBusy holds the group commit with a write of its own, starts
// calls (each in its own goroutine) while it is held, waits until all of
// them are queued and lets the commit go on: they then form one group. It
// returns their errors.
func queueWhileBusy(t *testing.T, s *Store, calls []func() error) []error {
	t.Helper()
	held, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := s.group(context.Background(), func(*bolt.Tx) error {
			close(held)
			<-release
			return nil
		})
		if err != nil {
			t.Errorf("holding write: %v", err)
		}
	})
	<-held
	errs := make([]error, len(calls))
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
	}
	for {
		s.commit.mu.Lock()
		n := len(s.commit.queue)
		s.commit.mu.Unlock()
		if n == len(calls) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	return errs
}

// TestGroupCommitOneFailing: polls that queue behind a commit go to disk in
// one transaction; one that fails is refused whole, and the others land.
func TestGroupCommitOneFailing(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	const polls, bad = 8, 5
	var calls []func() error
	for p := range polls {
		name := fmt.Sprintf("s%d", p)
		items := itemsOf(name, "x", 3)
		if p == bad {
			items = append(items, tidings.Item{Source: name}) // no ID: ErrInvalid inside the transaction
		}
		calls = append(calls, func() error {
			_, err := s.SavePoll(ctx, name, items, tidings.SourceState{})
			return err
		})
	}
	calls = append(calls, func() error {
		return s.SaveSourceState(ctx, tidings.SourceState{Name: "only-state", ETag: `"e"`})
	})

	first := txID(t, s)
	errs := queueWhileBusy(t, s, calls)
	// The holding write, one group for all the rest (its failed first
	// attempt and the failing poll's own try roll back and use no id),
	// and this probe.
	if got := txID(t, s) - first; got != 3 {
		t.Errorf("%d write transactions committed for %d queued writes, want 3 (hold, group, probe)", got, len(calls))
	}

	for p, err := range errs {
		switch {
		case p == bad && !errors.Is(err, ErrInvalid):
			t.Errorf("poll %d = %v, want ErrInvalid", p, err)
		case p != bad && err != nil:
			t.Errorf("poll %d: %v", p, err)
		}
	}
	st := mustStats(t, s)
	if want := (polls - 1) * 3; st.Items != want {
		t.Errorf("store holds %d items, want %d", st.Items, want)
	}
	if n := st.PerSource[fmt.Sprintf("s%d", bad)]; n != 0 {
		t.Errorf("the failing poll stored %d of its items, want none", n)
	}
	states, err := s.SourceStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != polls { // polls-1 good ones and only-state
		t.Errorf("%d states stored, want %d: %v", len(states), polls, states)
	}
	checkIndexes(t, s)
}

// TestGroupCommitAlone: a write with no company commits at once, in a
// transaction of its own.
func TestGroupCommitAlone(t *testing.T) {
	s := mustOpenStore(t)
	first := txID(t, s)
	for i := range 3 {
		mustSave(t, s, "a", itemsOf("a", "x", i+1))
	}
	if got := txID(t, s) - first; got != 4 {
		t.Errorf("%d write transactions for 3 polls one after another, want 4 (3 polls, probe)", got)
	}
}

// TestConcurrentSavePolls: many polls at once, as the daemon's poller
// makes them, all land with consistent indexes; a failing one among them
// costs only itself.
func TestConcurrentSavePolls(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	const polls = 32
	var wg sync.WaitGroup
	errs := make([]error, polls)
	for p := range polls {
		name := fmt.Sprintf("s%02d", p)
		wg.Go(func() {
			items := itemsOf(name, "x", 1+p%7)
			if p == 3 {
				items = append(items, newItem("other", "y", t0)) // ErrInvalid
			}
			_, errs[p] = s.SavePoll(ctx, name, items, tidings.SourceState{})
		})
	}
	wg.Wait()
	want := 0
	for p, err := range errs {
		if p == 3 {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("poll 3 = %v, want ErrInvalid", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("poll %d: %v", p, err)
		}
		want += 1 + p%7
	}
	st := mustStats(t, s)
	if st.Items != want {
		t.Errorf("store holds %d items, want %d", st.Items, want)
	}
	if st.PerSource["s03"] != 0 {
		t.Errorf("the failing poll stored %d items", st.PerSource["s03"])
	}
	checkIndexes(t, s)
}

// TestGroupCommitPanic: a write that panics in a group does not take the
// leader down with it; it panics in its own goroutine, and the others land.
func TestGroupCommitPanic(t *testing.T) {
	s := mustOpenStore(t)
	var recovered any
	calls := []func() error{
		func() error {
			defer func() { recovered = recover() }()
			return s.group(context.Background(), func(*bolt.Tx) error { panic("boom") })
		},
		func() error {
			return s.SaveSourceState(context.Background(), tidings.SourceState{Name: "a"})
		},
	}
	errs := queueWhileBusy(t, s, calls)
	if recovered != "boom" {
		t.Errorf("the panicking write recovered %v, want boom", recovered)
	}
	if errs[1] != nil {
		t.Errorf("write grouped with a panic: %v", errs[1])
	}
	if _, ok, err := s.SourceState(context.Background(), "a"); !ok || err != nil {
		t.Errorf("state of a: found %v, %v", ok, err)
	}
}
