// Command cond is the baseline of the 304 poll: the conditional GETs of a
// config's sources alone, with net/http, as many at once as the config's
// fetch.concurrency, and nothing else (no store, no state, no process
// start-up of tidings). The ratio of `tidings fetch` to it is what Tidings
// adds to the network.
//
//	go run ./bench/ingest/cond [-rounds 3] CONFIG
//
// It learns each feed's validators with a HEAD first (not timed), then
// times rounds of GETs carrying them and prints the median in seconds.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings/tidings/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cond:", err)
		os.Exit(1)
	}
}

func run() error {
	rounds := flag.Int("rounds", 3, "timed rounds")
	flag.Parse()
	if flag.NArg() != 1 {
		return fmt.Errorf("usage: cond [-rounds N] CONFIG")
	}
	cfg, err := config.Load(flag.Arg(0))
	if err != nil {
		return err
	}
	n := cfg.Fetch.Concurrency
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxIdleConns: n, DisableCompression: true}}
	ctx := context.Background()
	type validators struct{ url, etag, lastModified string }
	feeds := make([]validators, len(cfg.Sources))
	var notModified atomic.Int64
	// each sends one request per feed, n at once.
	each := func(fn func(i int) error) error {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, n)
		for w := range n {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < len(feeds); i = int(next.Add(1) - 1) {
					if err := fn(i); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
	do := func(method string, i int) error {
		req, err := http.NewRequestWithContext(ctx, method, feeds[i].url, nil)
		if err != nil {
			return err
		}
		if method == http.MethodGet {
			req.Header.Set("If-None-Match", feeds[i].etag)
			req.Header.Set("If-Modified-Since", feeds[i].lastModified)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if method == http.MethodHead {
			feeds[i].etag, feeds[i].lastModified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
		} else if resp.StatusCode == http.StatusNotModified {
			notModified.Add(1)
		}
		return nil
	}
	for i, src := range cfg.Sources {
		feeds[i].url = src.URL
	}
	if err := each(func(i int) error { return do(http.MethodHead, i) }); err != nil {
		return fmt.Errorf("learn validators: %w", err)
	}
	var times []time.Duration
	for range *rounds {
		notModified.Store(0)
		start := time.Now()
		if err := each(func(i int) error { return do(http.MethodGet, i) }); err != nil {
			return fmt.Errorf("conditional GET: %w", err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	fmt.Fprintf(os.Stderr, "cond: %d of %d answered 304, %d at once\n", notModified.Load(), len(feeds), n)
	fmt.Printf("%.3f\n", times[len(times)/2].Seconds())
	return nil
}
