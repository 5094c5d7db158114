package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// mappedKB is how much of the file at path this process has mapped and
// resident, from /proc/self/smaps.
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = strings.HasSuffix(line, path)
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			kb += n
		}
	}
	return kb
}

// TestReleaseMapped: the store lets go of the pages reads mapped, once, a
// moment after the reads; what it reads afterwards is still all there.
func TestReleaseMapped(t *testing.T) {
	ctx := context.Background()
	path := storePath(t)
	s := mustOpenAt(t, path, Options{})
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var items []tidings.Item
	for i := range 2000 {
		it := newItem("a", fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute))
		it.Content = strings.Repeat(fmt.Sprintf("<p>word %d of a long story. </p>", i), 40)
		items = append(items, it)
	}
	if _, err := s.SavePoll(ctx, "a", items, tidings.SourceState{}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		if err := s.Newest(ctx, func(*tidings.Item) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != len(items) {
		t.Fatalf("read %d items, want %d", n, len(items))
	}
	before := mappedKB(t, path)
	if before < 1024 {
		t.Fatalf("reading %d items mapped %d KB of the store: no test", len(items), before)
	}
	if !s.mapped.pending.Load() {
		t.Fatal("no release scheduled after reads")
	}
	// The scheduled release, run now rather than waited for: with less
	// mapped than the bound, the store's pages stay mapped for the next
	// reads; over it, they go.
	s.mapped.release()
	if kept := mappedKB(t, path); kept < before*3/4 {
		t.Errorf("mapped %d KB after a release under the bound, %d KB before: released", kept, before)
	}
	s.mapped.above = 0
	s.mapped.release()
	if after := mappedKB(t, path); after > before/4 {
		t.Errorf("mapped %d KB after a release over the bound, %d KB before", after, before)
	}
	if n := count(); n != len(items) {
		t.Errorf("after the release, read %d items, want %d", n, len(items))
	}
}
