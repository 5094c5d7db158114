package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/fetcher"
	"github.com/tidings/tidings/storage"
)

// pollResult is what one poll of one source did, for logs and `fetch`.
type pollResult struct {
	source      string
	notModified bool
	saved       storage.Saved
	items       int
	bytes       int64
	duration    time.Duration
	err         error // the source's own failure (kept in its state)
}

// pollOnce polls one source and stores what it got in one transaction. A
// failed fetch still stores the source's new state (error, backoff). It
// returns an error only when the store fails or ctx was cancelled.
func pollOnce(ctx context.Context, f *fetcher.Fetcher, st *storage.Store, src tidings.Source) (pollResult, error) {
	start := time.Now()
	r := pollResult{source: src.Name}
	prev, _, err := st.SourceState(ctx, src.Name)
	if err != nil {
		return r, fmt.Errorf("read state of source %q: %w", src.Name, err)
	}
	res, ferr := f.Poll(ctx, src, prev)
	if ctx.Err() != nil {
		// Shutting down: a cancelled fetch says nothing about the source.
		return r, ctx.Err()
	}
	r.err, r.notModified, r.items, r.bytes = ferr, res.NotModified, len(res.Items), res.Bytes
	items := res.Items
	if ferr != nil || res.NotModified {
		items = nil // nil tells the store this is no full listing: tombstones stay
	} else if items == nil {
		items = []tidings.Item{}
	}
	// The write finishes even if shutdown starts now: a poll is stored whole or not at all.
	r.saved, err = st.SavePoll(context.WithoutCancel(ctx), src.Name, items, res.State)
	r.duration = time.Since(start)
	if err != nil {
		return r, fmt.Errorf("save poll of source %q: %w", src.Name, err)
	}
	return r, nil
}

// logPoll writes one line about a finished poll.
func logPoll(log *slog.Logger, r pollResult) {
	attrs := []any{"source", r.source, "duration", r.duration.Round(time.Millisecond)}
	switch {
	case r.err != nil:
		log.Warn("poll failed", append(attrs, "err", r.err)...)
	case r.notModified:
		log.Debug("poll: not modified", attrs...)
	default:
		log.Info("poll", append(attrs, "items", r.items, "new", r.saved.New, "updated", r.saved.Updated, "bytes", r.bytes)...)
	}
}

// poller runs one goroutine per source that sleeps until the source is due,
// polls it and stores the result. The fetcher bounds how many run at once.
type poller struct {
	fetcher *fetcher.Fetcher
	store   *storage.Store
	log     *slog.Logger
	onPoll  func(pollResult) // optional, for metrics

	// storeErr is the last failed store write (disk full, read-only
	// file), nil once a write succeeds again. While it is set, polling
	// pauses: loops probe the store once a minute instead of fetching
	// feeds they could not store.
	storeErr atomic.Pointer[string]

	ctx     context.Context // parent of every source loop
	mu      sync.Mutex
	running map[string]*sourceLoop
	wg      sync.WaitGroup
}

type sourceLoop struct {
	src    tidings.Source
	cancel context.CancelFunc
}

func newPoller(ctx context.Context, f *fetcher.Fetcher, st *storage.Store, log *slog.Logger) *poller {
	return &poller{fetcher: f, store: st, log: log, ctx: ctx, running: map[string]*sourceLoop{}}
}

// update makes the running loops match sources: new ones start, removed
// ones stop, changed ones restart with their new settings.
func (p *poller) update(sources []tidings.Source) {
	p.mu.Lock()
	defer p.mu.Unlock()
	want := make(map[string]tidings.Source, len(sources))
	for _, s := range sources {
		want[s.Name] = s
	}
	for name, l := range p.running {
		if s, ok := want[name]; !ok || !reflect.DeepEqual(s, l.src) {
			l.cancel()
			delete(p.running, name)
		}
	}
	for _, s := range sources {
		if _, ok := p.running[s.Name]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(p.ctx)
		p.running[s.Name] = &sourceLoop{src: s, cancel: cancel}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.loop(ctx, s)
		}()
	}
}

// wait blocks until every loop has returned (after the parent context ends).
func (p *poller) wait() { p.wg.Wait() }

// loop polls one source until ctx ends. The first poll is due at once
// (spread over a few seconds so a start does not hit every feed in the
// same instant), unless the stored state says to wait (backoff, Retry-After).
func (p *poller) loop(ctx context.Context, src tidings.Source) {
	state, _, err := p.store.SourceState(ctx, src.Name)
	if err != nil {
		p.log.Error("read source state", "source", src.Name, "err", err)
	}
	next := state.NextPoll
	if now := time.Now(); next.IsZero() || next.Before(now) {
		next = now.Add(time.Duration(rand.Int64N(int64(startSpread))))
	}
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if p.storeErr.Load() != nil {
			if err := p.probeStore(ctx, src.Name); err != nil {
				timer.Reset(storeRetry)
				continue
			}
		}
		r, err := pollOnce(ctx, p.fetcher, p.store, src)
		if errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			p.setStoreErr(err)
			p.log.Error("poll: cannot write the store; polling pauses until it can", "source", src.Name, "err", err)
			timer.Reset(storeRetry)
			continue
		}
		if p.storeErr.Swap(nil) != nil {
			p.log.Info("store writable again; polling resumes")
		}
		logPoll(p.log, r)
		if p.onPoll != nil {
			p.onPoll(r)
		}
		st, _, err := p.store.SourceState(ctx, src.Name)
		wait := time.Minute // the store failed: retry soon
		if err == nil && !st.NextPoll.IsZero() {
			wait = max(time.Until(st.NextPoll), time.Second)
		}
		timer.Reset(wait)
	}
}

// storeRetry is how often a paused poller tries to write the store again.
const storeRetry = time.Minute

// setStoreErr records a failed store write for /readyz.
func (p *poller) setStoreErr(err error) {
	msg := err.Error()
	p.storeErr.Store(&msg)
}

// probeStore rewrites a source's state as a cheap test write: nil means
// the store takes writes again and polling resumes.
func (p *poller) probeStore(ctx context.Context, source string) error {
	st, _, err := p.store.SourceState(ctx, source)
	if err == nil {
		st.Name = source
		err = p.store.SaveSourceState(ctx, st)
	}
	if err != nil {
		if ctx.Err() == nil {
			p.setStoreErr(err)
			p.log.Warn("store still not writable; polling stays paused", "source", source, "err", err)
		}
		return err
	}
	if p.storeErr.Swap(nil) != nil {
		p.log.Info("store writable again; polling resumes")
	}
	return nil
}

// startSpread is how far the first polls after a start are spread.
const startSpread = 3 * time.Second
