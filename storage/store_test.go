package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tidings/tidings"
)

func TestOpenCreatesFolderAndReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := storePath(t)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	items := itemsOf("a", "x", 3)
	items[0].Authors = []tidings.Person{{Name: "Ann", Email: "ann@example.org"}}
	items[0].Categories = []string{"world"}
	items[0].Enclosures = []tidings.Enclosure{{URL: "https://example.org/a.mp3", Type: "audio/mpeg", Length: 42}}
	state := tidings.SourceState{
		Name:        "a",
		URL:         "https://example.org/feed",
		ETag:        `"abc"`,
		LastSuccess: t0,
		NextPoll:    t0.Add(15 * time.Minute),
	}
	if _, err := s.SavePoll(ctx, "a", items, state); err != nil {
		t.Fatalf("SavePoll: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = mustOpenAt(t, path, Options{})
	got, err := s.Item(ctx, "a", "x0")
	if err != nil {
		t.Fatalf("Item after reopen: %v", err)
	}
	want := items[0]
	if got.Title != want.Title || got.Content != want.Content || !got.Published.Equal(want.Published) ||
		!slices.Equal(got.Authors, want.Authors) || !slices.Equal(got.Categories, want.Categories) ||
		!slices.Equal(got.Enclosures, want.Enclosures) {
		t.Errorf("Item after reopen = %+v, want %+v", got, want)
	}
	if n := len(newestKeys(t, s)); n != 3 {
		t.Errorf("Newest after reopen walked %d items, want 3", n)
	}
	gotState, ok, err := s.SourceState(ctx, "a")
	if err != nil || !ok {
		t.Fatalf("SourceState after reopen = %v, %v", ok, err)
	}
	if gotState.ETag != state.ETag || gotState.URL != state.URL || !gotState.NextPoll.Equal(state.NextPoll) {
		t.Errorf("state after reopen = %+v, want %+v", gotState, state)
	}
}

func TestOpenLockedBySecondOpen(t *testing.T) {
	path := storePath(t)
	mustOpenAt(t, path, Options{})
	tests := map[string]Options{
		"read-write": {LockTimeout: 200 * time.Millisecond},
		"read-only":  {LockTimeout: 200 * time.Millisecond, ReadOnly: true},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			s, err := Open(path, opts)
			if err == nil {
				s.Close()
				t.Fatal("second Open succeeded while the store is held")
			}
			if !errors.Is(err, ErrLocked) {
				t.Errorf("error %v does not wrap ErrLocked", err)
			}
			for _, part := range []string{path, "is in use by another process (is `tidings serve` running?)"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Open took %v to fail, want about the 200ms lock timeout", took)
			}
		})
	}
}

func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	path := storePath(t)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	mustSave(t, s, "a", itemsOf("a", "x", 2))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Two readers share the store (render and export at once).
	r1 := mustOpenAt(t, path, Options{ReadOnly: true, Retention: time.Hour})
	r2 := mustOpenAt(t, path, Options{ReadOnly: true})
	for _, r := range []*Store{r1, r2} {
		if got := newestKeys(t, r); !slices.Equal(got, []string{"a/x0", "a/x1"}) {
			t.Errorf("read-only Newest = %v", got)
		}
	}
	if _, err := r1.SavePoll(ctx, "a", nil, tidings.SourceState{}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("SavePoll on read-only store: %v, want ErrReadOnly", err)
	}
	if _, err := r1.Prune(ctx); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Prune on read-only store: %v, want ErrReadOnly", err)
	}
	if err := r1.RemoveSource(ctx, "a"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("RemoveSource on read-only store: %v, want ErrReadOnly", err)
	}
	// A writer cannot join the readers.
	if w, err := Open(path, Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		if err == nil {
			w.Close()
		}
		t.Errorf("read-write Open beside readers: %v, want ErrLocked", err)
	}
}

func TestOpenReadOnlyMissing(t *testing.T) {
	path := storePath(t)
	s, err := Open(path, Options{ReadOnly: true})
	if err == nil {
		s.Close()
		t.Fatal("read-only Open of a missing store succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	if _, statErr := os.Stat(filepath.Dir(path)); !errors.Is(statErr, fs.ErrNotExist) {
		t.Errorf("read-only Open created the folder (stat: %v)", statErr)
	}
}

func TestOpenRejects(t *testing.T) {
	tests := map[string]struct {
		prepare func(t *testing.T, path string)
		want    error
	}{
		"newer schema": {
			prepare: func(t *testing.T, path string) {
				s, err := Open(path, Options{})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				s.Close()
				rawUpdate(t, path, func(tx *bolt.Tx) error {
					return tx.Bucket(bucketMeta).Put(metaSchema, []byte(strconv.Itoa(schemaVersion+1)))
				})
			},
			want: ErrNewerSchema,
		},
		"other bbolt database": {
			prepare: func(t *testing.T, path string) {
				rawUpdate(t, path, func(tx *bolt.Tx) error {
					_, err := tx.CreateBucket([]byte("somebody-else"))
					return err
				})
			},
			want: ErrNotStore,
		},
		"not a database": {
			prepare: func(t *testing.T, path string) {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				junk := []byte(strings.Repeat("this is a feed, not a database\n", 1000))
				if err := os.WriteFile(path, junk, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: ErrNotStore,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := storePath(t)
			tc.prepare(t, path)
			for _, ro := range []bool{false, true} {
				s, err := Open(path, Options{ReadOnly: ro})
				if err == nil {
					s.Close()
					t.Fatalf("Open(ReadOnly: %v) succeeded", ro)
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("Open(ReadOnly: %v) = %v, want %v", ro, err, tc.want)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the path", err)
				}
			}
		})
	}
}

// rawUpdate changes the bbolt file at path behind the Store's back.
func rawUpdate(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatalf("bolt update: %v", err)
	}
}

func TestContextCancelled(t *testing.T) {
	s := mustOpenStore(t)
	mustSave(t, s, "a", itemsOf("a", "x", 3))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"SavePoll": func() error {
			_, err := s.SavePoll(ctx, "a", itemsOf("a", "y", 3), tidings.SourceState{})
			return err
		},
		"SaveSourceState": func() error { return s.SaveSourceState(ctx, tidings.SourceState{Name: "a"}) },
		"SourceState": func() error {
			_, _, err := s.SourceState(ctx, "a")
			return err
		},
		"SourceStates": func() error {
			_, err := s.SourceStates(ctx)
			return err
		},
		"Newest": func() error {
			return s.Newest(ctx, func(*tidings.Item) bool { return true })
		},
		"Item": func() error {
			_, err := s.Item(ctx, "a", "x0")
			return err
		},
		"Stats": func() error {
			_, err := s.Stats(ctx)
			return err
		},
		"Prune": func() error {
			_, err := s.Prune(ctx)
			return err
		},
		"RemoveSource": func() error { return s.RemoveSource(ctx, "a") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context = %v, want context.Canceled", name, err)
			}
		})
	}
	// Nothing was written by the refused calls.
	if got := newestKeys(t, s); len(got) != 3 {
		t.Errorf("store holds %v after cancelled calls, want the 3 original items", got)
	}
}

func TestNewestStopsWhenContextCancelledMidWalk(t *testing.T) {
	s := mustOpenStore(t)
	mustSave(t, s, "a", itemsOf("a", "x", 3*ctxCheckEvery))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := 0
	err := s.Newest(ctx, func(*tidings.Item) bool {
		seen++
		cancel()
		return true
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Newest = %v, want context.Canceled", err)
	}
	if seen >= 3*ctxCheckEvery {
		t.Errorf("Newest walked all %d items after cancel", seen)
	}
}

func TestTimeKeysSortLikeTimes(t *testing.T) {
	// Times in ascending order, including those plain Unix nanoseconds
	// cannot hold.
	times := []time.Time{
		{},
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		t0,
		t0.Add(time.Nanosecond),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i, tm := range times {
		k := putTime(nil, tm)
		if got := getTime(k); !got.Equal(tm) {
			t.Errorf("getTime(putTime(%v)) = %v", tm, got)
		}
		if i > 0 {
			if prev := putTime(nil, times[i-1]); string(prev) >= string(k) {
				t.Errorf("key of %v does not sort before key of %v", times[i-1], tm)
			}
		}
	}
}

// TestFileGrowsWithStore: the store is mapped large at once (initialMap),
// but its file grows in steps that follow its size, as with bbolt's
// default map: a small store takes little disk, and a disk near full can
// still take its first polls (cmd/tidings TestStoreFull).
func TestFileGrowsWithStore(t *testing.T) {
	s := mustOpenStore(t)
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(s.path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	mustSave(t, s, "small", itemsOf("small", "a", 3))
	if n := size(); n > 256<<10 {
		t.Errorf("a store of 3 items takes a file of %d KB", n>>10)
	}
	// Many polls later the file has grown, never by more than twice what
	// the store holds (plus the smallest step).
	for p := range 40 {
		src := fmt.Sprintf("s%02d", p)
		mustSave(t, s, src, itemsOf(src, "i", 100))
		var used int64
		if err := s.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
			t.Fatal(err)
		}
		if n := size(); n < used || n > 2*used+int64(allocStep(0)) {
			t.Fatalf("after poll %d: file %d KB for a store of %d KB", p, n>>10, used>>10)
		}
	}
	for _, tt := range []struct{ size, want int64 }{
		{0, 32 << 10}, {100 << 10, 100 << 10}, {3 << 20, 3 << 20}, {1 << 30, 16 << 20},
	} {
		if got := allocStep(tt.size); int64(got) != tt.want {
			t.Errorf("allocStep(%d) = %d, want %d", tt.size, got, tt.want)
		}
	}
}
