package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	if _, err := s.SavePoll(ctx, "a", itemsOf("a", "x", 300), tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	// Writes continue during the copy; the copy holds the state at its start.
	done := make(chan error)
	go func() {
		var err error
		for i := range 20 {
			if _, e := s.SavePoll(ctx, "b", itemsOf("b", "y", 10*(i+1)), tidings.SourceState{}); e != nil && err == nil {
				err = e
			}
		}
		done <- err
	}()
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	n, err := s.Backup(ctx, f, func(n int64) { size = n })
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Size() != n || n != size {
		t.Errorf("Backup announced %d bytes, wrote %d, file has %d", size, n, fi.Size())
	}
	b := mustOpenAt(t, path, Options{ReadOnly: true})
	if st := mustStats(t, b); st.PerSource["a"] != 300 {
		t.Errorf("backup holds %v, want all 300 items of a", st.PerSource)
	}
	checkIndexes(t, b)
}

func TestCompact(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0}
	path := storePath(t)
	s, err := Open(path, Options{Now: c.Now, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SavePoll(ctx, "a", itemsOf("a", "x", 3000), tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	if _, err := s.SavePoll(ctx, "b", itemsOf("b", "y", 10), tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}

	// Not while another process (here: this Store) holds it.
	if _, _, err := Compact(ctx, path, 100*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("Compact of an open store = %v, want ErrLocked", err)
	}
	s.Close()
	before, after, err := Compact(ctx, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Errorf("Compact: %d bytes before, %d after, want smaller", before, after)
	}
	s2 := mustOpenAt(t, path, Options{})
	if st, tombs := mustStats(t, s2), mustTombstones(t, s2); st.Items != 10 || tombs != 3000 {
		t.Errorf("after Compact: %d items, %d tombstones, want 10 and 3000", st.Items, tombs)
	}
	checkIndexes(t, s2)
}
