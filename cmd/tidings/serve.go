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
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/config"
	"github.com/tidings/tidings/fetcher"
	"github.com/tidings/tidings/storage"
)

// defaultGrace is how long a stop waits, by default, for HTTP requests and
// polls in flight before it cancels them (serve --grace). systemd's
// TimeoutStopSec in deploy/systemd must stay above it.
const defaultGrace = 10 * time.Second

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

		DenyPrivateNetworks: cfg.Fetch.DenyPrivateNetworks,
	})
}

// runServe is `tidings serve`: poll on schedule, serve HTTP, reload on
// SIGHUP or config change, stop cleanly on SIGINT/SIGTERM.
func runServe(ctx context.Context, e *env, o *options) error {
	log, err := newLogger(e, o)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if o.grace < 0 {
		return &exitError{code: 2, err: fmt.Errorf("--grace %s: want a duration of 0 or more", o.grace)}
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
	var adminLn net.Listener
	if cfg.Server.AdminListen != "" {
		adminLn, err = net.Listen("tcp", cfg.Server.AdminListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (server.admin_listen): %w", cfg.Server.AdminListen, err)
		}
	}
	pub := newPublisher(st, s, log)
	m := newMetrics(st)
	if err := m.configured(ctx, st, cfg.Sources); err != nil && ctx.Err() == nil {
		log.Warn("read source states for metrics", "sources", len(cfg.Sources), "err", err)
	}
	f := newFetcher(cfg)
	ps := newPush(cfg, pub, st, f, log)
	defer ps.close()
	pub.hub = ps.hubURL
	srv := &server{pub: pub, store: st, log: log, metrics: m, adminOnly: adminLn != nil, push: ps}
	srv.adminToken = func() string { return pub.current().cfg.Server.AdminToken }
	srv.ready.Store(true)
	newHTTP := func() *http.Server {
		return &http.Server{
			Handler:           srv.routes(),
			ConnContext:       withConn,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}
	httpErr := make(chan error, 2)
	// The public listener answers requests for cached documents on the
	// fast path (fastpath.go) and hands the others to net/http.
	fast := newFastServer(srv, newHTTP())
	servers := []interface {
		Shutdown(context.Context) error
		Close() error
	}{fast}
	go func() { httpErr <- fast.Serve(ln) }()
	adminAddr := "" // for the log: where /metrics and /sources are
	if adminLn != nil {
		as := newHTTP()
		as.BaseContext = onAdminListener
		servers = append(servers, as)
		go func() { httpErr <- as.Serve(adminLn) }()
		adminAddr = adminLn.Addr().String()
	}
	log.Info("serving", "listen", ln.Addr().String(), "admin_listen", adminAddr, "base_url", cfg.Server.BaseURL,
		"config", cfg.File, "store", st.Path(), "sources", len(cfg.Sources), "topics", len(s.topics))

	// sched ends at shutdown: no new poll, prune or watch. abort ends when
	// the grace period is over: polls still in flight are cancelled.
	sched, stopSched := context.WithCancel(context.Background())
	defer stopSched()
	abort, abortPolls := context.WithCancel(context.Background())
	defer abortPolls()
	p := newPoller(sched, abort, f, st, log)
	m.watchPolls(p.load)
	p.onPoll = func(ctx context.Context, src tidings.Source, r pollResult) {
		m.observe(r)
		if r.saved.New+r.saved.Updated > 0 {
			ps.notify()
		}
		ps.afterPoll(ctx, src, r.hub, r.self)
	}
	p.minWait = ps.minInterval
	srv.storeErr = p.storeErr.Load
	p.update(cfg.Sources)
	var bg sync.WaitGroup
	bg.Go(func() { pruneLoop(sched, st, log) })
	bg.Go(func() { ps.run(sched) })

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// The watcher always runs, so that a reload can turn watch_config on or
	// off; its changes are ignored while watch_config is off.
	changed := watchFile(sched, cfg.File, 2*time.Second)
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
		if prev := pub.current().cfg; !reflect.DeepEqual(prev.Fetch, next.cfg.Fetch) {
			p.setFetcher(newFetcher(next.cfg))
			log.Info("fetch settings changed; each source's next poll uses them", "sources", len(next.cfg.Sources))
		}
		srv.reloadErr.Store(nil)
		m.reloads.WithLabelValues("ok").Inc()
		m.reloadOK.Set(1)
		m.reloadTime.SetToCurrentTime()
		if err := indexTopics(sched, st, next); err != nil {
			log.Error("index topics after reload; topics are served by scanning the store", "err", err)
		}
		pub.swap(next)
		p.update(next.cfg.Sources)
		ps.removed(ctx, next.sources)
		// A reload racing a shutdown finds ctx cancelled; that is no fault.
		if err := m.configured(ctx, st, next.cfg.Sources); err != nil && ctx.Err() == nil {
			log.Warn("read source states for metrics", "sources", len(next.cfg.Sources), "err", err)
		}
		log.Info("config reloaded", "trigger", why, "sources", len(next.cfg.Sources), "topics", len(next.topics))
	}

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping", "grace", o.grace)
			break loop
		case err := <-httpErr:
			runErr = fmt.Errorf("http server: %w", err)
			break loop
		case <-hup:
			reload("SIGHUP")
		case <-changed:
			if pub.current().cfg.Server.WatchConfig {
				reload("config file changed")
			}
		}
	}
	// DESIGN order: stop scheduling, stop HTTP, let in-flight polls finish
	// (within the grace period, then cancel them), close the store.
	stopSched()
	graceCtx, cancel := context.WithTimeout(context.Background(), o.grace)
	defer cancel()
	// A second SIGINT or SIGTERM (an impatient Ctrl-C) ends the grace
	// period at once; the store is still closed cleanly.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	go func() {
		select {
		case <-again:
			log.Warn("second stop signal; cancelling what is still running")
			cancel()
		case <-graceCtx.Done():
		}
	}()
	var hw sync.WaitGroup
	for _, hs := range servers {
		hw.Go(func() {
			if err := hs.Shutdown(graceCtx); err != nil {
				log.Warn("grace period over; closing HTTP connections still open", "err", err)
				hs.Close()
			}
		})
	}
	hw.Wait()
	if names := p.polling(); len(names) > 0 {
		log.Info("waiting for polls in flight", "sources", names, "grace", o.grace)
	}
	if !p.wait(graceCtx) {
		log.Warn("grace period over; cancelling polls in flight (their results are not stored)", "sources", p.polling())
		abortPolls()
		p.wait(context.Background())
	}
	bg.Wait()
	if err := st.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return runErr
}

// reloadable refuses changes a running daemon cannot apply in place: the
// addresses it listens on and the store, which it opened with its path and
// pruning rules. Everything else (sources, topics, fetch settings, base
// URL, admin token, watch_config) applies on reload.
func reloadable(old, next *config.Config) error {
	if old.Server.Listen != next.Server.Listen {
		return fmt.Errorf("%s: server.listen changed from %s to %s: restart tidings to move it", next.File, old.Server.Listen, next.Server.Listen)
	}
	if old.Storage.Path != next.Storage.Path {
		return fmt.Errorf("%s: storage.path changed: restart tidings to use another store", next.File)
	}
	if old.Storage.Retention != next.Storage.Retention || old.Storage.MaxItemsPerSource != next.Storage.MaxItemsPerSource {
		return fmt.Errorf("%s: storage.retention or storage.max_items_per_source changed: restart tidings to apply it", next.File)
	}
	if old.Server.AdminListen != next.Server.AdminListen {
		return fmt.Errorf("%s: server.admin_listen changed from %q to %q: restart tidings to move it", next.File, old.Server.AdminListen, next.Server.AdminListen)
	}
	return nil
}

// watchFile sends on the returned channel when the file's size or
// modification time changes and then holds still for one more check, so a
// file caught half-written by an editor is not loaded. Polling, not
// inotify: it works on every filesystem (and through the bind mounts and
// symlink swaps of Docker and Kubernetes config mounts), and a check every
// few seconds costs nothing.
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
		last, pending := stamp(), ""
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			switch cur := stamp(); {
			case cur == last:
				pending = ""
			case cur != pending:
				pending = cur // changed: wait until it holds still
			default:
				last, pending = cur, ""
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
