// Command corpus measures the ingest of a folder of real feeds against its
// baseline in the same run: gofeed parsing the same bytes alone.
//
//	go run ./bench/ingest/corpus [-rounds 5] [-files N] DIR...
//
// Ingest is what a poll does after the bytes arrive: fetcher.ParseBytes
// (gofeed, normalization, identity, dedupe within the feed) and
// storage.SavePoll (identity lookup, fingerprint, the time, source and story
// indexes, a bbolt write transaction and its fsyncs) into a fresh store.
// Each is measured one feed at a time and with -workers feeds at once, as
// the daemon polls: -workers fetch slots (fetch.concurrency), each parse in
// a slot, twice as many polls under way, since a poll stores after giving
// its slot back (and once with the store inside the slot, one poll per
// slot, as the daemon polled before). gofeed alone is measured both ways
// too, and each ingest figure is judged against the baseline run the same
// way. Rounds alternate baseline and ingest, so both see the same machine
// load; the table gives the median round of each and their ratio.
package main

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/fetcher"
	"github.com/tidings/tidings/storage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(1)
	}
}

type feedFile struct {
	name string
	body []byte
}

func run() error {
	rounds := flag.Int("rounds", 5, "rounds of baseline and ingest")
	limit := flag.Int("files", 0, "read at most this many files of each folder (0: all)")
	workers := flag.Int("workers", 16, "parses at once in the parallel passes: fetch slots (fetch.concurrency's default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		fh, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer fh.Close()
		if err := pprof.StartCPUProfile(fh); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if flag.NArg() == 0 {
		return fmt.Errorf("usage: corpus [-rounds N] DIR... (folders of feed files)")
	}
	for _, dir := range flag.Args() {
		files, size, err := readDir(dir, *limit)
		if err != nil {
			return err
		}
		if err := measure(dir, files, size, *rounds, *workers); err != nil {
			return err
		}
	}
	return nil
}

func readDir(dir string, limit int) ([]feedFile, int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	if limit > 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	var files []feedFile
	var size int64
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == "MANIFEST.tsv" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, 0, err
		}
		files = append(files, feedFile{e.Name(), b})
		size += int64(len(b))
	}
	if len(files) == 0 {
		return nil, 0, fmt.Errorf("no feed files in %s", dir)
	}
	return files, size, nil
}

func measure(dir string, files []feedFile, size int64, rounds, workers int) error {
	ctx := context.Background()
	f := fetcher.New(fetcher.Options{MaxBody: 64 << 20})
	// Each pass is timed over all files, run by w goroutines at once.
	type pass struct {
		what  string
		w     int
		slots int // for ingest: parses at once (fetch slots); 0: w
		times []time.Duration
		cpu   []time.Duration // the process's CPU time (all threads, GC included)
		store []time.Duration // time inside SavePoll, summed (one at a time only)
	}
	passes := []*pass{
		{what: "baseline: gofeed.Parse alone", w: 1},
		{what: "tidings parse + normalize (no store)", w: 1},
		{what: "tidings ingest: parse, normalize, store", w: 1},
		{what: fmt.Sprintf("baseline: gofeed.Parse alone, %d at once", workers), w: workers},
		{what: fmt.Sprintf("tidings parse + normalize, %d at once", workers), w: workers},
		{what: fmt.Sprintf("tidings ingest, %d at once, store in slot", workers), w: workers},
		{what: fmt.Sprintf("tidings ingest, %d slots, %d workers (serve)", workers, 2*workers), w: 2 * workers, slots: workers},
	}
	var items, gofeedItems int
	for range rounds {
		for _, ps := range passes {
			var d, storeTime time.Duration
			var err error
			cpu0 := cpuTime()
			switch {
			case strings.HasPrefix(ps.what, "baseline"):
				// gofeed alone, defaults, as a program using it would;
				// a parser per goroutine, since one is not safe to share.
				var n atomic.Int64
				d = runAll(files, ps.w, func(_ int, c feedFile, p *gofeed.Parser) error {
					if feed, err := p.Parse(bytes.NewReader(c.body)); err == nil {
						n.Add(int64(len(feed.Items)))
					}
					return nil
				})
				gofeedItems = int(n.Load())
			case strings.Contains(ps.what, "parse + normalize"):
				d = runAll(files, ps.w, func(i int, c feedFile, _ *gofeed.Parser) error {
					f.ParseBytes(tidings.Source{Name: fmt.Sprintf("c%05d", i)}, "https://example.org/"+c.name, c.body)
					return nil
				})
			default:
				d, storeTime, items, err = ingest(ctx, f, files, ps.w, cmp.Or(ps.slots, ps.w))
				if err != nil {
					return err
				}
			}
			ps.times = append(ps.times, d)
			ps.cpu = append(ps.cpu, cpuTime()-cpu0)
			ps.store = append(ps.store, storeTime)
		}
	}
	fmt.Printf("\n%s: %d feeds, %.1f MB, %d items stored (gofeed finds %d); median of %d rounds; load average %s\n",
		dir, len(files), float64(size)/1e6, items, gofeedItems, rounds, loadAvg())
	fmt.Printf("| %-44s | %10s | %8s | %10s | %s | %10s | %s |\n", "what", "time", "MB/s", "items/s", "vs gofeed", "CPU", "CPU vs gofeed")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|\n", dashes(46), dashes(12), dashes(10), dashes(12), dashes(11), dashes(12), dashes(15))
	row := func(what string, d, g, c, gc time.Duration) {
		cpu := fmt.Sprintf("| %10s | %12s", "", "")
		if c > 0 {
			cpu = fmt.Sprintf("| %10s | %12.2f×", c.Round(time.Millisecond), c.Seconds()/gc.Seconds())
		}
		fmt.Printf("| %-44s | %10s | %8.1f | %10.0f | %8.2f× %s |\n", what, d.Round(100*time.Microsecond),
			float64(size)/1e6/d.Seconds(), float64(items)/d.Seconds(), d.Seconds()/g.Seconds(), cpu)
	}
	var g, gc time.Duration
	for _, ps := range passes {
		d, c := median(ps.times), median(ps.cpu)
		if strings.HasPrefix(ps.what, "baseline") {
			g, gc = d, c
		}
		row(ps.what, d, g, c, gc)
		if ps.w == 1 && !strings.HasPrefix(ps.what, "baseline") && !strings.Contains(ps.what, "parse + normalize") {
			row("  of which storage.SavePoll", median(ps.store), g, 0, gc)
		}
	}
	if sync, err := fsyncTime(len(files)); err == nil {
		fmt.Printf("disk: one fsync takes %s here; bbolt syncs twice per commit; one commit per feed would wait %s on the disk\n",
			sync.Round(10*time.Microsecond), (2 * time.Duration(len(files)) * sync).Round(time.Millisecond))
	}
	// The target is judged on the path the daemon takes: polls finishing
	// at once, whose writes share commits, against gofeed as parallel.
	in, base := median(passes[6].times), median(passes[3].times)
	target := "met"
	if in.Seconds() > 1.5*base.Seconds() {
		target = "NOT met"
	}
	fmt.Printf("target ingest ≤ 1.5× gofeed (%d slots, as the daemon polls): %.2f× — %s (one at a time: %.2f×)\n",
		workers, in.Seconds()/base.Seconds(), target, median(passes[2].times).Seconds()/median(passes[0].times).Seconds())
	return nil
}

// runAll calls fn for every file from w goroutines at once and returns the
// wall time. Each goroutine has its own gofeed parser.
func runAll(files []feedFile, w int, fn func(i int, c feedFile, p *gofeed.Parser) error) time.Duration {
	next := atomic.Int64{}
	start := time.Now()
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			p := gofeed.NewParser()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				_ = fn(i, files[i], p)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// ingest parses and stores every file into a fresh store as one poll each,
// by w workers of which at most slots parse at once: as the daemon's
// poller (serve: two workers per fetch slot) and `tidings fetch` (four)
// do, a poll parses in its fetch slot and stores after giving it back.
// It returns the time of the whole pass, the time spent inside SavePoll
// (summed over goroutines) and the items stored.
func ingest(ctx context.Context, f *fetcher.Fetcher, files []feedFile, w, slots int) (time.Duration, time.Duration, int, error) {
	tmp, err := os.MkdirTemp("", "tidings-bench-*")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(tmp)
	st, err := storage.Open(filepath.Join(tmp, "bench.db"), storage.Options{})
	if err != nil {
		return 0, 0, 0, err
	}
	defer st.Close()
	var items, storeNanos atomic.Int64
	var mu sync.Mutex
	var firstErr error
	slot := make(chan struct{}, slots)
	d := runAll(files, w, func(i int, c feedFile, _ *gofeed.Parser) error {
		src := tidings.Source{Name: fmt.Sprintf("c%05d", i)}
		slot <- struct{}{}
		its, _, err := f.ParseBytes(src, "https://example.org/"+c.name, c.body)
		<-slot
		if err != nil {
			return nil // a feed we cannot read: gofeed fails on it too
		}
		t := time.Now()
		saved, err := st.SavePoll(ctx, src.Name, its, tidings.SourceState{Name: src.Name})
		storeNanos.Add(int64(time.Since(t)))
		if err != nil {
			mu.Lock()
			firstErr = cmp.Or(firstErr, fmt.Errorf("save %s: %w", c.name, err))
			mu.Unlock()
			return err
		}
		items.Add(int64(saved.New))
		return nil
	})
	return d, time.Duration(storeNanos.Load()), int(items.Load()), firstErr
}

// loadAvg is the 1-minute load average, to note beside the figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

// fsyncTime is the median time of writing a page and syncing it, n times.
func fsyncTime(n int) (time.Duration, error) {
	fh, err := os.CreateTemp("", "tidings-fsync-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(fh.Name())
	defer fh.Close()
	page := make([]byte, 4096)
	var ds []time.Duration
	for i := range max(n, 20) {
		start := time.Now()
		if _, err := fh.WriteAt(page, int64(i%64)*4096); err != nil {
			return 0, err
		}
		if err := fh.Sync(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func dashes(n int) string { return string(bytes.Repeat([]byte("-"), n)) }
