package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
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
	hub, self   string // the WebSub hub and self URL the feed advertises
	movedTo     string // new URL after a permanent redirect in this poll
	duration    time.Duration
	err         error // the source's own failure (kept in its state)
}

// pollOnce polls one source and stores what it got in one transaction. A
// failed fetch still stores the source's new state (error, backoff). It
// returns an error only when the store fails or ctx was cancelled.
func pollOnce(ctx context.Context, f *fetcher.Fetcher, st *storage.Store, src tidings.Source) (pollResult, error) {
	start := time.Now()
	prev, _, err := st.SourceState(ctx, src.Name)
	if err != nil {
		return pollResult{source: src.Name}, fmt.Errorf("read state of source %q: %w", src.Name, err)
	}
	return pollFrom(ctx, f, st, src, prev, start)
}

// pollFrom is pollOnce from a state the caller has read, for `fetch`,
// which reads every source's state in one go; start is when the poll
// began, for its duration.
func pollFrom(ctx context.Context, f *fetcher.Fetcher, st *storage.Store, src tidings.Source, prev tidings.SourceState, start time.Time) (pollResult, error) {
	r := pollResult{source: src.Name}
	res, ferr := f.Poll(ctx, src, prev)
	if ctx.Err() != nil {
		// Shutting down: a cancelled fetch says nothing about the source.
		return r, ctx.Err()
	}
	r.err, r.notModified, r.items, r.bytes, r.movedTo = ferr, res.NotModified, len(res.Items), res.Bytes, res.MovedTo
	r.hub, r.self = res.Hub, res.Self
	items := res.Items
	if ferr != nil || res.NotModified {
		items = nil // nil tells the store this is no full listing: tombstones stay
	} else if items == nil {
		items = []tidings.Item{}
	}
	// The write finishes even if shutdown starts now: a poll is stored whole or not at all.
	var err error
	if items == nil {
		// No listing: only the state changes, in a write shared with
		// other polls finishing at the same time.
		err = st.SaveSourceState(context.WithoutCancel(ctx), res.State)
	} else {
		r.saved, err = st.SavePoll(context.WithoutCancel(ctx), src.Name, items, res.State)
	}
	r.duration = time.Since(start)
	if err != nil {
		return r, fmt.Errorf("save poll of source %q: %w", src.Name, err)
	}
	return r, nil
}

// logPoll writes one line about a finished poll, and one more when the
// feed has moved for good, so the operator can update the config.
func logPoll(log *slog.Logger, src tidings.Source, r pollResult) {
	attrs := []any{"source", r.source, "feed_url", src.URL, "duration", r.duration.Round(time.Millisecond)}
	if r.movedTo != "" {
		log.Warn("feed moved permanently; polling the new URL (update the config to match)", "source", r.source, "feed_url", src.URL, "moved_to", r.movedTo)
	}
	switch {
	case r.err != nil:
		log.Warn("poll failed", append(attrs, "err", r.err)...)
	case r.notModified:
		log.Debug("poll: not modified", attrs...)
	default:
		log.Info("poll", append(attrs, "items", r.items, "new", r.saved.New, "updated", r.saved.Updated, "bytes", r.bytes)...)
	}
}

// poller keeps a timer per source that fires when the source is due, then
// polls it and stores the result. The fetcher bounds how many run at once.
//
// Two contexts govern it, so that a shutdown can stop scheduling at once
// yet let the polls under way finish within a grace period: when ctx ends
// no new poll starts; when abort ends the polls in flight are cancelled.
type poller struct {
	fetcher *fetcher.Fetcher // guarded by mu: a reload may replace it
	store   *storage.Store
	log     *slog.Logger
	onPoll  func(context.Context, tidings.Source, pollResult) // optional, for metrics and pushes
	// minWait, if set, is the least a source waits between polls (a source
	// that pushes to us is polled only as a safety net).
	minWait func(source string) time.Duration

	// storeErr is the last failed store write (disk full, read-only
	// file), nil once a write succeeds again. While it is set, polling
	// pauses: loops probe the store once a minute instead of fetching
	// feeds they could not store.
	storeErr atomic.Pointer[string]

	ctx, abort context.Context
	mu         sync.Mutex
	running    map[string]*sourceLoop
	inFlight   map[string]bool // sources being polled right now
	started    bool            // update has run once: later additions come from a reload
	wg         sync.WaitGroup
}

type sourceLoop struct {
	src    tidings.Source
	cancel context.CancelFunc // stops scheduling and cancels a poll in flight
	done   chan struct{}      // closed once no poll of it is scheduled or in flight
}

func newPoller(ctx, abort context.Context, f *fetcher.Fetcher, st *storage.Store, log *slog.Logger) *poller {
	return &poller{
		fetcher: f, store: st, log: log, ctx: ctx, abort: abort,
		running: map[string]*sourceLoop{}, inFlight: map[string]bool{},
	}
}

// update makes the running loops match sources: new ones start, removed
// ones stop (a poll in flight is cancelled and not stored), changed ones
// restart with their new settings.
func (p *poller) update(sources []tidings.Source) {
	p.mu.Lock()
	defer p.mu.Unlock()
	want := make(map[string]tidings.Source, len(sources))
	for _, s := range sources {
		want[s.Name] = s
	}
	restarted := map[string]bool{}
	for name, l := range p.running {
		s, ok := want[name]
		if ok && reflect.DeepEqual(s, l.src) {
			continue
		}
		l.cancel()
		delete(p.running, name)
		if ok {
			restarted[name] = true
			p.log.Info("source changed; polling restarts with the new settings", "source", name, "feed_url", s.URL)
		} else {
			p.log.Info("source removed; polling stopped", "source", name, "feed_url", l.src.URL)
		}
	}
	initial := !p.started
	p.started = true
	for _, s := range sources {
		if _, ok := p.running[s.Name]; ok {
			continue
		}
		if !initial && !restarted[s.Name] {
			p.log.Info("source added; polling starts", "source", s.Name, "feed_url", s.URL)
		}
		// Scheduling ends with p.ctx; the poll itself only with p.abort, or
		// when this source alone is stopped (removed or changed).
		sched, stop := context.WithCancel(p.ctx)
		pollCtx, cancelPoll := context.WithCancel(p.abort)
		l := &sourceLoop{src: s, done: make(chan struct{}), cancel: func() { stop(); cancelPoll() }}
		p.running[s.Name] = l
		p.wg.Add(1)
		p.start(sched, pollCtx, s, func() {
			cancelPoll()
			close(l.done)
			p.wg.Done()
		})
	}
}

// setFetcher replaces the fetcher (after a reload changed the fetch
// settings); each source's next poll uses the new one.
func (p *poller) setFetcher(f *fetcher.Fetcher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetcher = f
}

// wait blocks until every loop has returned (after ctx, and abort if
// polls are in flight, end), or until give ends. It reports whether they did.
func (p *poller) wait(give context.Context) bool {
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-give.Done():
		return false
	}
}

// polling lists the sources whose poll is in flight, sorted.
func (p *poller) polling() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.inFlight))
	for n := range p.inFlight {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// setInFlight marks a poll of the source as started or finished, and
// returns the fetcher to poll with.
func (p *poller) setInFlight(name string, on bool) *fetcher.Fetcher {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.inFlight[name] = true
	} else {
		delete(p.inFlight, name)
	}
	return p.fetcher
}

// currentFetcher is the fetcher polls use now (a reload may replace it).
func (p *poller) currentFetcher() *fetcher.Fetcher {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetcher
}

// start schedules polls of one source until sched ends. The first poll is
// due at once (spread over a few seconds so a start does not hit every feed
// in the same instant), unless the stored state says to wait (backoff,
// Retry-After). Each poll runs under pollCtx, which outlives sched during a
// graceful stop; finish is called once, when the source is done with.
//
// A source waiting for its next poll holds no goroutine, only a timer
// (time.AfterFunc): each poll runs on the timer's goroutine, which ends
// with it. With a goroutine per source that sleeps between polls, 10,000
// sources kept 10,000 stacks, grown by the fetch and parse they had run,
// for as long as the daemon lived (bench/README.md, poll-cycle memory).
//
// Whoever runs the source's step (the first read, a timer that fired)
// either arms the next timer or calls finish; a stop that finds a timer
// armed stops it and finishes instead.
func (p *poller) start(sched, pollCtx context.Context, src tidings.Source, finish func()) {
	var mu sync.Mutex
	var timer *time.Timer
	var done sync.Once
	end := func() { done.Do(finish) }
	var step func()
	arm := func(wait time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if sched.Err() != nil {
			end()
			return
		}
		timer = time.AfterFunc(wait, step)
	}
	step = func() {
		if sched.Err() != nil {
			end() // both were ready: stopping wins
			return
		}
		wait, stop := p.pollStep(sched, pollCtx, src)
		if stop {
			end()
			return
		}
		arm(wait)
	}
	context.AfterFunc(sched, func() {
		mu.Lock()
		defer mu.Unlock()
		if timer != nil && timer.Stop() {
			end() // the timer held the source: nobody else will end it
		}
	})
	go func() {
		state, _, err := p.store.SourceState(sched, src.Name)
		if err != nil && sched.Err() == nil {
			p.log.Error("read source state", "source", src.Name, "err", err)
		}
		interval := p.currentFetcher().Interval(src)
		arm(time.Until(firstPoll(state, src, interval, time.Now())))
	}()
}

// pollStep polls src once, when due, and stores the result; it returns how
// long to wait for the next poll, or stop when the loop should end.
func (p *poller) pollStep(sched, pollCtx context.Context, src tidings.Source) (wait time.Duration, stop bool) {
	if p.storeErr.Load() != nil {
		if err := p.probeStore(sched, src.Name); err != nil {
			return storeRetry, false
		}
	}
	f := p.setInFlight(src.Name, true)
	r, err := pollOnce(pollCtx, f, p.store, src)
	p.setInFlight(src.Name, false)
	if errors.Is(err, context.Canceled) {
		p.log.Info("poll cancelled; nothing stored", "source", src.Name, "feed_url", src.URL)
		return 0, true
	}
	if err != nil {
		p.setStoreErr(err)
		p.log.Error("poll: cannot write the store; polling pauses until it can", "source", src.Name, "feed_url", src.URL, "err", err)
		return storeRetry, false
	}
	if p.storeErr.Swap(nil) != nil {
		p.log.Info("store writable again; polling resumes", "source", src.Name)
	}
	logPoll(p.log, src, r)
	if p.onPoll != nil {
		p.onPoll(sched, src, r)
	}
	if sched.Err() != nil {
		return 0, true
	}
	st, _, err := p.store.SourceState(sched, src.Name)
	wait = time.Minute // the store failed: retry soon
	if err == nil && !st.NextPoll.IsZero() {
		wait = max(time.Until(st.NextPoll), time.Second)
	}
	if p.minWait != nil {
		wait = max(wait, p.minWait(src.Name))
	}
	return wait, false
}

// firstPoll is when a source polls first: at once (spread over
// startSpread) unless the stored state says to wait, for a backoff or a
// server's Retry-After, which thus survive a restart.
func firstPoll(state tidings.SourceState, src tidings.Source, interval time.Duration, now time.Time) time.Time {
	next := state.NextPoll
	switch {
	case state.SourceURL != "" && state.SourceURL != src.URL:
		// The URL was edited: the schedule was the old feed's.
		next = time.Time{}
	case state.LastError == "" && interval > 0 && next.After(now.Add(interval)):
		// The interval (the source's own or fetch.interval) was shortened:
		// no need to sit out the old one.
		next = now.Add(interval)
	}
	if state.RetryAfter.After(next) {
		next = state.RetryAfter
	}
	if next.IsZero() || next.Before(now) {
		next = now.Add(time.Duration(rand.Int64N(int64(startSpread))))
	}
	return next
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
		p.log.Info("store writable again; polling resumes", "source", source)
	}
	return nil
}

// startSpread is how far the first polls after a start are spread.
const startSpread = 3 * time.Second
