// Command corpus measures the ingest of a folder of real feeds against its
// baseline in the same run: gofeed parsing the same bytes alone.
//
//	go run ./bench/ingest/corpus [-rounds 5] [-files N] DIR...
//
// Ingest is what a poll does after the bytes arrive: fetcher.ParseBytes
// (gofeed, normalization, identity, dedupe within the feed) and
// storage.SavePoll (identity lookup, the time and source indexes, one bbolt
// write transaction and its fsync per feed) into a fresh store. Rounds
// alternate baseline and ingest, so both see the same machine load; the
// table gives the median round of each and their ratio.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
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
		if err := measure(dir, files, size, *rounds); err != nil {
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

func measure(dir string, files []feedFile, size int64, rounds int) error {
	ctx := context.Background()
	base := gofeed.NewParser()
	f := fetcher.New(fetcher.Options{MaxBody: 64 << 20})
	var gofeedTimes, parseTimes, ingestTimes, storeTimes []time.Duration
	var items, gofeedItems int
	for range rounds {
		// Baseline: gofeed alone, defaults, as a program using it would.
		start := time.Now()
		gofeedItems = 0
		for _, c := range files {
			if feed, err := base.Parse(bytes.NewReader(c.body)); err == nil {
				gofeedItems += len(feed.Items)
			}
		}
		gofeedTimes = append(gofeedTimes, time.Since(start))

		// Parse and normalize only, to split the ingest figure.
		start = time.Now()
		for i, c := range files {
			f.ParseBytes(tidings.Source{Name: fmt.Sprintf("c%05d", i)}, "https://example.org/"+c.name, c.body)
		}
		parseTimes = append(parseTimes, time.Since(start))

		// Ingest into a fresh store: one poll per feed.
		tmp, err := os.MkdirTemp("", "tidings-bench-*")
		if err != nil {
			return err
		}
		st, err := storage.Open(filepath.Join(tmp, "bench.db"), storage.Options{})
		if err != nil {
			return err
		}
		start = time.Now()
		items = 0
		var storeTime time.Duration
		for i, c := range files {
			src := tidings.Source{Name: fmt.Sprintf("c%05d", i)}
			its, _, err := f.ParseBytes(src, "https://example.org/"+c.name, c.body)
			if err != nil {
				continue // a feed we cannot read: gofeed fails on it too
			}
			t := time.Now()
			saved, err := st.SavePoll(ctx, src.Name, its, tidings.SourceState{Name: src.Name})
			storeTime += time.Since(t)
			if err != nil {
				return fmt.Errorf("save %s: %w", c.name, err)
			}
			items += saved.New
		}
		ingestTimes = append(ingestTimes, time.Since(start))
		storeTimes = append(storeTimes, storeTime)
		st.Close()
		os.RemoveAll(tmp)
	}
	g, p, in := median(gofeedTimes), median(parseTimes), median(ingestTimes)
	fmt.Printf("\n%s: %d feeds, %.1f MB, %d items stored (gofeed finds %d); median of %d rounds\n",
		dir, len(files), float64(size)/1e6, items, gofeedItems, rounds)
	fmt.Printf("| %-44s | %10s | %8s | %10s | %s |\n", "what", "time", "MB/s", "items/s", "vs gofeed")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", dashes(46), dashes(12), dashes(10), dashes(12), dashes(11))
	row := func(what string, d time.Duration) {
		fmt.Printf("| %-44s | %10s | %8.1f | %10.0f | %8.2f× |\n", what, d.Round(100*time.Microsecond),
			float64(size)/1e6/d.Seconds(), float64(items)/d.Seconds(), d.Seconds()/g.Seconds())
	}
	row("baseline: gofeed.Parse alone", g)
	row("tidings parse + normalize (no store)", p)
	row("tidings ingest: parse, normalize, store", in)
	row("  of which storage.SavePoll", median(storeTimes))
	if sync, err := fsyncTime(len(files)); err == nil {
		fmt.Printf("disk: one fsync takes %s here; bbolt syncs twice per commit, one commit per feed: %s of the ingest is waiting on the disk\n",
			sync.Round(10*time.Microsecond), (2 * time.Duration(len(files)) * sync).Round(time.Millisecond))
	}
	target := "met"
	if in.Seconds() > 1.5*g.Seconds() {
		target = "NOT met"
	}
	fmt.Printf("target ingest ≤ 1.5× gofeed: %.2f× — %s\n", in.Seconds()/g.Seconds(), target)
	return nil
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
