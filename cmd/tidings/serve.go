package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/fetcher"
	"github.com/tidings/tidings/storage"
)

// shutdownGrace bounds how long a stop waits for HTTP requests in flight.
const shutdownGrace = 10 * time.Second

// newLogger builds the slog logger from the --log-level and --log-format flags.
func newLogger(e *env, o *options) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text", "":
		return slog.New(slog.NewTextHandler(e.stderr, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, hopts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
}

// newFetcher builds the fetcher from the config's fetch section.
func newFetcher(cfg *config.Config) *fetcher.Fetcher {
	return fetcher.New(fetcher.Options{
		Timeout:     cfg.Fetch.Timeout,
		MaxBody:     cfg.Fetch.MaxBody,
		UserAgent:   cfg.Fetch.UserAgent,
		Concurrency: cfg.Fetch.Concurrency,
		PerHost:     cfg.Fetch.PerHost,
		Interval:    cfg.Fetch.Interval,
	})
}

// runServe is `tidings serve`: poll on schedule, serve HTTP, reload on
// SIGHUP or config change, stop cleanly on SIGINT/SIGTERM.
func runServe(ctx context.Context, e *env, o *options) error {
	log, err := newLogger(e, o)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	cfg := s.cfg
	st, err := openStore(cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := indexTopics(ctx, st, s); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (server.listen): %w", cfg.Server.Listen, err)
	}
	pub := newPublisher(st, s, log)
	m := newMetrics(st)
	srv := &server{pub: pub, store: st, log: log, metrics: m}
	srv.adminToken = func() string { return pub.current().cfg.Server.AdminToken }
	srv.ready.Store(true)
	httpSrv := &http.Server{
		Handler:           srv.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- httpSrv.Serve(ln) }()
	log.Info("serving", "listen", ln.Addr().String(), "base_url", cfg.Server.BaseURL,
		"config", cfg.File, "store", st.Path(), "sources", len(cfg.Sources), "topics", len(s.topics))

	pollCtx, stopPolls := context.WithCancel(context.Background())
	defer stopPolls()
	p := newPoller(pollCtx, newFetcher(cfg), st, log)
	p.onPoll = m.observe
	srv.storeErr = p.storeErr.Load
	p.update(cfg.Sources)
	go pruneLoop(pollCtx, st, log)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var changed <-chan struct{}
	if cfg.Server.WatchConfig {
		changed = watchFile(pollCtx, cfg.File, 2*time.Second)
	}
	reload := func(why string) {
		next, err := loadSetup(o.config)
		if err == nil {
			err = reloadable(pub.current().cfg, next.cfg)
		}
		if err != nil {
			msg := strings.ReplaceAll(err.Error(), "\n", "; ")
			srv.reloadErr.Store(&msg)
			m.reloads.WithLabelValues("error").Inc()
			m.reloadOK.Set(0)
			log.Error("config reload failed; the previous config keeps running", "trigger", why, "config", o.config, "err", msg)
			return
		}
		srv.reloadErr.Store(nil)
		m.reloads.WithLabelValues("ok").Inc()
		m.reloadOK.Set(1)
		if err := indexTopics(pollCtx, st, next); err != nil {
			log.Error("index topics after reload; topics are served by scanning the store", "err", err)
		}
		pub.swap(next)
		p.update(next.cfg.Sources)
		log.Info("config reloaded", "trigger", why, "sources", len(next.cfg.Sources), "topics", len(next.topics))
	}

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping")
			break loop
		case err := <-httpErr:
			runErr = fmt.Errorf("http server: %w", err)
			break loop
		case <-hup:
			reload("SIGHUP")
		case <-changed:
			reload("config file changed")
		}
	}
	// DESIGN order: stop scheduling, stop HTTP, let in-flight writes finish, close the store.
	stopPolls()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	p.wait()
	if err := st.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return runErr
}

// reloadable refuses changes a running daemon cannot apply in place.
func reloadable(old, next *config.Config) error {
	if old.Server.Listen != next.Server.Listen {
		return fmt.Errorf("%s: server.listen changed from %s to %s: restart tidings to move it", next.File, old.Server.Listen, next.Server.Listen)
	}
	if old.Storage.Path != next.Storage.Path {
		return fmt.Errorf("%s: storage.path changed: restart tidings to use another store", next.File)
	}
	return nil
}

// watchFile sends on the returned channel when the file's size or
// modification time changes. Polling, not inotify: it works on every
// filesystem and a check every few seconds costs nothing.
func watchFile(ctx context.Context, path string, every time.Duration) <-chan struct{} {
	ch := make(chan struct{}, 1)
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return "missing"
		}
		return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
	}
	go func() {
		last := stamp()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if cur := stamp(); cur != last {
				last = cur
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch
}

// pruneLoop applies retention and max_items_per_source every hour, and
// once shortly after the start.
func pruneLoop(ctx context.Context, st *storage.Store, log *slog.Logger) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := st.Prune(ctx)
		switch {
		case errors.Is(err, context.Canceled):
			return
		case err != nil:
			log.Error("prune", "err", err)
		case n > 0:
			log.Info("pruned", "items", n)
		}
		t.Reset(time.Hour)
	}
}
