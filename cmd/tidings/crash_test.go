package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/storage"
)

var crashRounds = flag.Int("crash.rounds", 5, "kill -9 rounds in TestKillDuringIngest (bench/crash.sh runs many)")

// Each poll of an ingest source brings crashStep new items and lists at most
// crashListed, the newest.
const (
	crashSources = 12
	crashStep    = 100
	crashListed  = 2000
)

// crashRange is the range of item numbers that response c of a feed lists:
// every item so far (c·step of them), the newest crashListed at most.
func crashRange(c int) (lo, hi int) {
	hi = c * crashStep
	return max(0, hi-crashListed), hi
}

// ingestServer serves crashSources RSS feeds at /s/N.xml. Response c of a
// feed (c = 1, 2, …) lists the items of crashRange(c) and carries ETag "c",
// so the source state stored with a poll says exactly which items the
// store must hold. It ignores validators: every poll brings new items.
func ingestServer(t *testing.T) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	served := map[int]int{}
	base := time.Now().UTC().Add(-time.Hour)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/s/"), ".xml"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		served[n]++
		c := served[n]
		mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, `<?xml version="1.0"?><rss version="2.0"><channel><title>Ingest %d</title><link>http://ingest.example/%d</link>`, n, n)
		lo, hi := crashRange(c)
		for k := hi - 1; k >= lo; k-- {
			fmt.Fprintf(&b, `<item><guid>s%d-%d</guid><title>Report %d from desk %d</title><link>http://ingest.example/%d/%d</link>`+
				`<description>Desk %d filed report number %d today, covering the council vote on budget line %d and reactions from residents of ward %d.</description>`+
				`<pubDate>%s</pubDate></item>`, n, k, k, n, n, k, n, k, k*7, k%13, base.Add(time.Duration(k)*time.Second).Format(time.RFC1123Z))
		}
		b.WriteString(`</channel></rss>`)
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("ETag", `"`+strconv.Itoa(c)+`"`)
		w.Write([]byte(b.String()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeIngestConfig(t *testing.T, dir, listen, url string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "storage: {path: ./data/crash.db, max_items_per_source: 0, retention: 0}\n")
	fmt.Fprintf(&b, "server: {listen: %s, watch_config: false, admin_token: s3cret}\n", listen)
	fmt.Fprintf(&b, "fetch: {interval: 1s, timeout: 5s}\nsources:\n")
	for i := range crashSources {
		fmt.Fprintf(&b, "  - {name: s%d, url: '%s/s/%d.xml'}\n", i, url, i)
	}
	b.WriteString("topics:\n  - {name: council, query: council}\n  - {name: even, sources: [s0, s2, s4]}\n  - {name: ward, query: 'ward AND \"desk 3\"'}\n")
	path := filepath.Join(dir, "tidings.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKillDuringIngest kills `tidings serve` with SIGKILL at random moments
// of heavy ingest (a dozen feeds a second, a hundred new items each) and
// checks after each kill that the store opens, that every poll whose state
// was stored brought all its items and no later poll left any (one
// transaction per poll), that its indexes (time, source, story, topics)
// agree with the items, and that nothing is stored twice.
func TestKillDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test skipped in -short mode")
	}
	dir := t.TempDir()
	listen := freeAddr(t)
	cfgPath := writeIngestConfig(t, dir, listen, ingestServer(t).URL)
	s, err := loadSetup(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	total := 0
	for round := range *crashRounds {
		d := startDaemon(t, cfgPath, "http://"+listen)
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-d.done
		total = checkCrashStore(t, s, round)
	}
	if total == 0 {
		t.Fatal("no poll was ever stored: the test killed nothing interesting")
	}
	t.Logf("%d rounds, %d items stored at the end", *crashRounds, total)

	// A backup taken from the running daemon is a whole store.
	d := startDaemon(t, cfgPath, "http://"+listen)
	time.Sleep(300 * time.Millisecond)
	backup := filepath.Join(dir, "backup.db")
	out, stderr, code := runTidings(t, "backup", backup, "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "from the daemon") {
		t.Fatalf("backup while serving: exit %d, %q, %q", code, out, stderr)
	}
	_, _, code = runTidings(t, "compact", "--config", cfgPath)
	if code != 1 {
		t.Errorf("compact while serving: exit %d, want 1", code)
	}
	d.stop(t)
	b, err := storage.Open(backup, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	if err := b.Verify(context.Background()); err != nil {
		t.Errorf("backup: %v", err)
	}
	if st, _ := b.Stats(context.Background()); st.Items < total {
		t.Errorf("backup holds %d items, the store had %d before", st.Items, total)
	}
	b.Close()
	out, stderr, code = runTidings(t, "compact", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "compacted") {
		t.Errorf("compact: exit %d, %q, %q", code, out, stderr)
	}
	checkCrashStore(t, s, -1)
}

// checkCrashStore opens the store after a kill and checks its invariants;
// it returns the number of items.
func checkCrashStore(t *testing.T, s *setup, round int) int {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(s.cfg.Storage.Path, storage.Options{})
	if err != nil {
		t.Fatalf("round %d: store does not open after kill -9: %v", round, err)
	}
	defer st.Close()
	if err := st.SetTopics(ctx, s.defs); err != nil {
		t.Fatal(err)
	}
	if err := st.Verify(ctx); err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	stored := map[string]map[string]bool{}
	err = st.Newest(ctx, func(it *tidings.Item) bool {
		if stored[it.Source] == nil {
			stored[it.Source] = map[string]bool{}
		}
		if stored[it.Source][it.ID] {
			t.Errorf("round %d: %s/%s listed twice", round, it.Source, it.ID)
		}
		stored[it.Source][it.ID] = true
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range crashSources {
		name := fmt.Sprintf("s%d", i)
		state, _, err := st.SourceState(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		c := 0
		if state.ETag != "" {
			c, _ = strconv.Atoi(strings.Trim(state.ETag, `"`))
		}
		// Every item of the stored poll is there, and nothing of a later
		// one; items older than its listing come from earlier polls.
		lo, hi := crashRange(c)
		for id := range stored[name] {
			if k, _ := strconv.Atoi(strings.TrimPrefix(id, name+"-")); k >= hi {
				t.Errorf("round %d: %s: item %s of a poll after the stored poll %d is present", round, name, id, c)
				break
			}
		}
		if got := len(stored[name]); got < hi-lo || got > hi {
			t.Errorf("round %d: %s: state says poll %d was stored (items %d–%d), store has %d", round, name, c, lo, hi-1, got)
		}
		for k := lo; k < hi; k++ {
			if id := fmt.Sprintf("s%d-%d", i, k); !stored[name][id] {
				t.Errorf("round %d: %s: item %s of a stored poll is missing", round, name, id)
				break
			}
		}
		total += len(stored[name])
	}
	return total
}
