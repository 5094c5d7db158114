package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/storage"
)

// configError prints config problems one per line as FILE:LINE: message
// and turns them into exit code 1.
func configError(e *env, err error) error {
	var errs config.Errors
	var one *config.Error
	switch {
	case errors.As(err, &errs):
		for _, ce := range errs {
			fmt.Fprintln(e.stderr, ce.Error())
		}
	case errors.As(err, &one):
		fmt.Fprintln(e.stderr, one.Error())
	default:
		return err
	}
	return &exitError{code: 1, err: errors.New("the config has errors; fix the lines above and run `tidings check`")}
}

// runCheck is `tidings check`.
func runCheck(_ context.Context, e *env, o *options) error {
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	fmt.Fprintf(e.stdout, "%s: ok: %d sources, %d topics\n", s.cfg.File, len(s.cfg.Sources), len(s.topics))
	return nil
}

// runFetch is `tidings fetch`: every (or one) source polled once, now.
func runFetch(ctx context.Context, e *env, o *options) error {
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	sources := s.cfg.Sources
	if o.source != "" {
		src, ok := s.sources[o.source]
		if !ok {
			return fmt.Errorf("no source named %q in %s", o.source, s.cfg.File)
		}
		sources = []tidings.Source{src}
	}
	st, err := openStore(s.cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := indexTopics(ctx, st, s); err != nil {
		return err
	}
	f := newFetcher(s.cfg)

	results := make([]pollResult, len(sources))
	errs := make([]error, len(sources))
	// A server that asked to be left alone (Retry-After, still in the
	// future) is not asked again by a manual fetch either.
	skipped := map[int]string{}
	now := time.Now()
	// Every state in one read transaction: a lookup per source cost more
	// than the 304 it leads to.
	all, err := st.SourceStates(ctx)
	if err != nil {
		return err
	}
	prevs := make(map[string]tidings.SourceState, len(all))
	for _, p := range all {
		prevs[p.Name] = p
	}
	for i, src := range sources {
		results[i].source = src.Name
		if prev := prevs[src.Name]; prev.RetryAfter.After(now) {
			skipped[i] = "skipped: the server asked to wait until " + prev.RetryAfter.Local().Format(time.DateTime) + " (Retry-After)"
		}
	}
	term := isTerminal(e.stdout)
	bar := &progress{w: e.stdout, total: len(sources), drawInterval: 100 * time.Millisecond}
	// A pool of workers rather than a goroutine per source: thousands of
	// goroutines parked on the fetcher's slots cost a stack each. Four
	// workers per slot keep the slots busy while some wait for a host.
	jobs := make(chan int)
	done := make(chan int)
	var wg sync.WaitGroup
	for range min(len(sources), max(4*s.cfg.Fetch.Concurrency, 64)) {
		wg.Go(func() {
			for i := range jobs {
				results[i], errs[i] = pollFrom(ctx, f, st, sources[i], prevs[sources[i].Name], time.Now())
				done <- i
			}
		})
	}
	go func() {
		for i := range sources {
			if skipped[i] == "" {
				jobs <- i
			}
		}
		close(jobs)
		wg.Wait()
		close(done)
	}()
	for i := range skipped {
		if term {
			bar.add(results[i])
		}
	}
	for i := range done {
		if term {
			bar.add(results[i])
		}
	}
	if term {
		bar.finish()
	}
	failed := 0
	// One line per source: buffered, so thousands of sources are not
	// thousands of write calls.
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	for i, r := range results {
		if errs[i] != nil {
			return errs[i]
		}
		if r.err != nil {
			failed++
		}
		if term {
			continue
		}
		if r.movedTo != "" {
			fmt.Fprintf(out, "%-20s moved permanently to %s\n", r.source, r.movedTo)
		}
		switch {
		case skipped[i] != "":
			fmt.Fprintf(out, "%-20s %s\n", r.source, skipped[i])
		case r.err != nil:
			fmt.Fprintf(out, "%-20s error: %v\n", r.source, r.err)
		case r.notModified:
			fmt.Fprintf(out, "%-20s not modified\n", r.source)
		default:
			fmt.Fprintf(out, "%-20s %d items: %d new, %d updated (%s)\n", r.source, r.items, r.saved.New, r.saved.Updated, r.duration.Round(time.Millisecond))
		}
	}
	if term {
		writeFetchTable(e.stdout, results, skipped)
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if _, err := st.Prune(ctx); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if failed > 0 && o.strict {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d sources failed (--strict)", failed, len(sources))}
	}
	return nil
}

// reader serves published documents either from the store directly or,
// when `tidings serve` holds the store, from the daemon over HTTP.
type reader interface {
	get(ctx context.Context, path string) ([]byte, error)
}

// openReader opens the store read-only, falling back to the running daemon.
func openReader(s *setup) (reader, func(), error) {
	st, err := openStore(s.cfg, true)
	if errors.Is(err, storage.ErrLocked) {
		return &daemonReader{base: daemonURL(s.cfg)}, func() {}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	_ = st.SetTopics(context.Background(), s.defs) // read-only: records the definitions, cannot fail on I/O
	pub := newPublisher(st, s, slog.New(slog.DiscardHandler))
	return &storeReader{pub: pub}, func() { st.Close() }, nil
}

type storeReader struct{ pub *publisher }

// get renders the document that the daemon would serve at path.
func (r *storeReader) get(ctx context.Context, path string) ([]byte, error) {
	var doc *rendered
	var err error
	switch path {
	case "/":
		doc, err = r.pub.index(ctx)
	case "/topics.opml":
		doc, err = r.pub.opml(ctx)
	default:
		var name, ext string
		var limit int
		name, ext, limit, err = parseTopicPath(path)
		if err != nil {
			return nil, err
		}
		f, _ := feeds.ParseFormat(ext)
		doc, err = r.pub.topicFeed(ctx, name, f, limit)
		if err == nil && doc == nil {
			return nil, fmt.Errorf("no topic named %q in the config", name)
		}
	}
	if err != nil {
		return nil, err
	}
	return doc.body, nil
}

// parseTopicPath splits /topics/NAME.EXT?limit=N.
func parseTopicPath(p string) (name, ext string, limit int, err error) {
	p, q, _ := strings.Cut(p, "?")
	name, ext, _ = strings.Cut(strings.TrimPrefix(p, "/topics/"), ".")
	if v, ok := strings.CutPrefix(q, "limit="); ok {
		limit, err = strconv.Atoi(v)
	}
	return name, ext, limit, err
}

type daemonReader struct{ base string }

func (r *daemonReader) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the store is in use by the daemon, and asking it at %s failed: %w", r.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s%s from the daemon: %w", r.base, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the daemon at %s answered %s: %s", r.base+path, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// daemonURL is where this config's daemon listens, as a client reaches it:
// the admin address when there is one, since it serves every path, admin
// ones included.
func daemonURL(cfg *config.Config) string {
	listen := cfg.Server.Listen
	if cfg.Server.AdminListen != "" {
		listen = cfg.Server.AdminListen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// runRender is `tidings render TOPIC`.
func runRender(ctx context.Context, e *env, o *options) error {
	f, ok := feeds.ParseFormat(o.format)
	if !ok {
		return &exitError{code: 2, err: fmt.Errorf("--format %q: want rss, atom or json", o.format)}
	}
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	name := o.args[0]
	if _, ok := s.byName[name]; !ok {
		return fmt.Errorf("no topic named %q in %s", name, s.cfg.File)
	}
	r, done, err := openReader(s)
	if err != nil {
		return err
	}
	defer done()
	path := "/topics/" + name + "." + f.Ext()
	if o.limit > 0 {
		path += "?limit=" + strconv.Itoa(o.limit)
	}
	body, err := r.get(ctx, path)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(body)
	return err
}

// runExport is `tidings export --out DIR`: a static copy of everything
// the daemon publishes, with the same file names as its URL paths.
func runExport(ctx context.Context, e *env, o *options) error {
	if o.out == "" {
		return &exitError{code: 2, err: errors.New("export needs --out DIR")}
	}
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	r, done, err := openReader(s)
	if err != nil {
		return err
	}
	defer done()
	files := map[string]string{"/": "index.html", "/topics.opml": "topics.opml"}
	for _, t := range s.topics {
		for _, f := range []feeds.Format{feeds.RSS, feeds.Atom, feeds.JSON} {
			p := "/topics/" + t.Name + "." + f.Ext()
			files[p] = filepath.FromSlash(p[1:])
		}
	}
	if err := os.MkdirAll(filepath.Join(o.out, "topics"), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", o.out, err)
	}
	for p, name := range files {
		body, err := r.get(ctx, p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.out, name), body, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	fmt.Fprintf(e.stdout, "wrote %d files to %s\n", len(files), o.out)
	return nil
}

// runHealth is `tidings health`: for container health checks.
func runHealth(ctx context.Context, e *env, o *options) error {
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, err := (&daemonReader{base: daemonURL(s.cfg)}).get(ctx, "/healthz")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s", body)
	return nil
}
