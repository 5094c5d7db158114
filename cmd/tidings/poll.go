package main

import (
	"container/heap"
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

// poller schedules every source's polls and runs them, storing the results.
//
// Each source waits in the queue of its host (the fetcher's per-host key)
// ordered by when it is due. A small set of workers, at most twice the
// fetcher's concurrency (workersPerSlot), takes the earliest due source
// among the hosts that have a free slot (fewer polls under way than the
// fetcher's per-host limit), polls it and queues it again for its next
// poll. No more than a slot's worth of goroutines waits for a slot:
// with a goroutine per due poll, 10,000 sources falling due in the same
// minute made 10,000 goroutines queue at the fetcher's 64 slots, each with
// its stack, and the memory grown in that burst stayed with the process
// (bench/README.md, memory). A host whose slots are all busy is passed
// over, so sources of one slow host cannot hold every worker while other
// hosts' sources are due. One timer wakes the poller when the next source
// falls due and no worker is running to notice it.
//
// Two contexts govern it, so that a shutdown can stop scheduling at once
// yet let the polls under way finish within a grace period: when ctx ends
// no new poll starts (queued ones are dropped); when abort ends the polls
// in flight are cancelled.
type poller struct {
	store  *storage.Store
	log    *slog.Logger
	onPoll func(context.Context, tidings.Source, pollResult) // optional, for metrics and pushes
	// minWait, if set, is the least a source waits between polls (a source
	// that pushes to us is polled only as a safety net).
	minWait func(source string) time.Duration
	// spread is how far the first polls after a start are spread
	// (startSpread; tests set 0 to have them all due at once).
	spread time.Duration

	// storeErr is the last failed store write (disk full, read-only
	// file), nil once a write succeeds again. While it is set, polling
	// pauses: sources probe the store once a minute instead of fetching
	// feeds they could not store.
	storeErr atomic.Pointer[string]

	ctx, abort context.Context
	wg         sync.WaitGroup // one per source not yet done with

	mu       sync.Mutex
	fetcher  *fetcher.Fetcher // a reload may replace it
	running  map[string]*sourceLoop
	inFlight map[string]bool // sources being polled right now
	started  bool            // update has run once: later additions come from a reload
	hosts    map[string]*hostQueue
	ready    hostHeap    // hosts with a queued source and a free slot, earliest due first
	workers  int         // worker goroutines running
	timer    *time.Timer // wakes the poller when the next source is due
	timerAt  time.Time   // when timer fires; zero when it is not armed
}

// sourceLoop is one configured source's place in the poller.
type sourceLoop struct {
	src     tidings.Source
	sched   context.Context    // ends when the source is stopped or the poller is
	pollCtx context.Context    // a poll in flight runs under it
	cancel  context.CancelFunc // stops scheduling and cancels a poll in flight
	done    chan struct{}      // closed once no poll of it is scheduled or in flight

	// Guarded by poller.mu.
	host     string    // its per-host key (fetcher.HostKey)
	due      time.Time // when its next poll is due, while queued
	idx      int       // index in its host's queue; -1 while not queued or polled
	finished bool      // done is closed
}

// hostQueue holds the sources of one host waiting for their poll.
type hostQueue struct {
	name string
	q    loopQueue
	busy int // polls of this host in flight
	idx  int // index in poller.ready; -1 while not in it
}

func newPoller(ctx, abort context.Context, f *fetcher.Fetcher, st *storage.Store, log *slog.Logger) *poller {
	p := &poller{
		fetcher: f, store: st, log: log, ctx: ctx, abort: abort, spread: startSpread,
		running: map[string]*sourceLoop{}, inFlight: map[string]bool{}, hosts: map[string]*hostQueue{},
	}
	// At shutdown, sources waiting in the queue are done with at once;
	// those being polled finish their poll first (see work).
	context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, h := range p.hosts {
			for len(h.q) > 0 {
				l := h.q[0]
				p.unqueueLocked(l)
				p.finishLocked(l)
			}
		}
		if p.timer != nil {
			p.timer.Stop()
			p.timerAt = time.Time{}
		}
	})
	return p
}

// update makes the polled sources match sources: new ones start, removed
// ones stop (a queued poll is dropped, one in flight is cancelled and not
// stored), changed ones restart with their new settings.
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
		if l.idx >= 0 {
			p.unqueueLocked(l)
			p.finishLocked(l)
		}
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
	var added []*sourceLoop
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
		l := &sourceLoop{src: s, sched: sched, pollCtx: pollCtx, done: make(chan struct{}), idx: -1,
			cancel: func() { stop(); cancelPoll() }}
		p.running[s.Name] = l
		p.wg.Add(1)
		added = append(added, l)
	}
	if len(added) > 0 {
		go p.schedule(added)
	}
}

// schedule queues the added sources for their first poll, which is due at
// once (spread over a few seconds so a start does not hit every feed in the
// same instant) unless the stored state says to wait (backoff,
// Retry-After). One goroutine reads the states one after the other: a
// goroutine per source made 10,000 stacks at start-up.
func (p *poller) schedule(added []*sourceLoop) {
	for _, l := range added {
		var state tidings.SourceState
		if l.sched.Err() == nil {
			var err error
			state, _, err = p.store.SourceState(l.sched, l.src.Name)
			if err != nil && l.sched.Err() == nil {
				p.log.Error("read source state", "source", l.src.Name, "err", err)
			}
		}
		p.mu.Lock()
		due := firstPoll(state, l.src, p.fetcher.Interval(l.src), time.Now(), p.spread)
		l.host = fetcher.HostKey(l.src, state)
		p.queueLocked(l, due)
		p.mu.Unlock()
	}
}

// queueLocked queues l for a poll at due, or is done with it if it was
// stopped meanwhile.
func (p *poller) queueLocked(l *sourceLoop, due time.Time) {
	if l.sched.Err() != nil {
		p.finishLocked(l)
		return
	}
	h := p.hosts[l.host]
	if h == nil {
		h = &hostQueue{name: l.host, idx: -1}
		p.hosts[l.host] = h
	}
	l.due = due
	heap.Push(&h.q, l)
	p.fixHostLocked(h)
	p.kickLocked()
}

// unqueueLocked takes a queued l out of its host's queue.
func (p *poller) unqueueLocked(l *sourceLoop) {
	h := p.hosts[l.host]
	heap.Remove(&h.q, l.idx)
	p.fixHostLocked(h)
}

// finishLocked is done with l: nothing of it is queued or in flight.
func (p *poller) finishLocked(l *sourceLoop) {
	if l.finished {
		return
	}
	l.finished = true
	l.cancel()
	close(l.done)
	p.wg.Done()
}

// fixHostLocked puts h in the ready heap, moves it there or takes it out,
// after its queue or its polls in flight changed; an idle empty host is
// forgotten, so the map holds only hosts with something queued or running.
func (p *poller) fixHostLocked(h *hostQueue) {
	_, perHost := p.fetcher.Limits()
	// A file takes no host slot (fetcher.HostKey is "" for it).
	ready := len(h.q) > 0 && (h.name == "" || h.busy < perHost)
	switch {
	case ready && h.idx < 0:
		heap.Push(&p.ready, h)
	case ready:
		heap.Fix(&p.ready, h.idx)
	case h.idx >= 0:
		heap.Remove(&p.ready, h.idx)
	}
	if len(h.q) == 0 && h.busy == 0 {
		delete(p.hosts, h.name)
	}
}

// kickLocked starts a worker if a source is due and a worker may start,
// else arms the timer for the next due source (if any host can take it).
func (p *poller) kickLocked() {
	if p.ctx.Err() != nil || len(p.ready) == 0 {
		return
	}
	due := p.ready[0].q[0].due
	if wait := time.Until(due); wait > 0 {
		if p.timerAt.IsZero() || due.Before(p.timerAt) {
			p.timerAt = due
			if p.timer == nil {
				p.timer = time.AfterFunc(wait, p.wake)
			} else {
				p.timer.Reset(wait)
			}
		}
		return
	}
	if concurrency, _ := p.fetcher.Limits(); p.workers < workersPerSlot*concurrency {
		p.workers++
		go p.work()
	}
}

// workersPerSlot is how many poll workers the poller runs per fetch slot.
// A poll gives its slot back once the feed is parsed, then waits for the
// store's one writer (SavePoll); with one worker per slot, the slots stood
// idle through every commit. A second worker fetches meanwhile, and the
// polls that finish together share a commit (bench/README.md, ingest).
const workersPerSlot = 2

// wake runs when the timer fires: the next source is due.
func (p *poller) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timerAt = time.Time{}
	p.kickLocked()
}

// nextLocked takes the earliest due source whose host has a free slot, or
// returns nil if none is due now.
func (p *poller) nextLocked() *sourceLoop {
	if p.ctx.Err() != nil || len(p.ready) == 0 {
		return nil
	}
	h := p.ready[0]
	if h.q[0].due.After(time.Now()) {
		return nil
	}
	l := heap.Pop(&h.q).(*sourceLoop)
	h.busy++
	p.fixHostLocked(h)
	p.inFlight[l.src.Name] = true
	return l
}

// work polls due sources one after the other until none is due, then
// ends, so that no goroutine (and no stack grown by a poll) outlives a
// burst of polls.
func (p *poller) work() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		l := p.nextLocked()
		if l == nil {
			p.workers--
			p.kickLocked() // arm the timer for the next due source
			return
		}
		p.kickLocked() // more due: another worker, if one may start
		f := p.fetcher
		p.mu.Unlock()
		wait, host, stop := p.pollStep(l, f)
		p.mu.Lock()
		delete(p.inFlight, l.src.Name)
		if h := p.hosts[l.host]; h != nil {
			h.busy--
			p.fixHostLocked(h)
		}
		if stop {
			p.finishLocked(l)
			continue
		}
		l.host = host
		p.queueLocked(l, time.Now().Add(wait))
	}
}

// setFetcher replaces the fetcher (after a reload changed the fetch
// settings); each source's next poll uses the new one, and its limits.
func (p *poller) setFetcher(f *fetcher.Fetcher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetcher = f
	for _, h := range p.hosts {
		p.fixHostLocked(h)
	}
	p.kickLocked()
}

// wait blocks until every source is done with (after ctx, and abort if
// polls are in flight, end), or until give ends. It reports whether they were.
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

// load returns how many sources are due at now but not being polled
// (waiting for a worker, or for a slot at their host) and how many polls
// are under way: the queue an operator watches when polls fall behind.
func (p *poller) load(now time.Time) (due, inFlight int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.hosts {
		for _, l := range h.q {
			if !l.due.After(now) {
				due++
			}
		}
	}
	return due, len(p.inFlight)
}

// pollStep polls l's source once with f and stores the result; it returns
// how long to wait for the next poll and the host that poll starts at, or
// stop when the source is done with. Only the worker polling l writes
// l.host, so it reads it here without the poller's lock.
func (p *poller) pollStep(l *sourceLoop, f *fetcher.Fetcher) (wait time.Duration, host string, stop bool) {
	sched, src, host := l.sched, l.src, l.host
	if sched.Err() != nil {
		return 0, "", true // stopped while it waited for a worker
	}
	if p.storeErr.Load() != nil {
		if err := p.probeStore(sched, src.Name); err != nil {
			return storeRetry, host, sched.Err() != nil
		}
	}
	r, err := pollOnce(l.pollCtx, f, p.store, src)
	if errors.Is(err, context.Canceled) {
		p.log.Info("poll cancelled; nothing stored", "source", src.Name, "feed_url", src.URL)
		return 0, "", true
	}
	if err != nil {
		p.setStoreErr(err)
		p.log.Error("poll: cannot write the store; polling pauses until it can", "source", src.Name, "feed_url", src.URL, "err", err)
		return storeRetry, host, false
	}
	if p.storeErr.Swap(nil) != nil {
		p.log.Info("store writable again; polling resumes", "source", src.Name)
	}
	logPoll(p.log, src, r)
	if p.onPoll != nil {
		p.onPoll(sched, src, r)
	}
	if sched.Err() != nil {
		return 0, "", true
	}
	st, _, err := p.store.SourceState(sched, src.Name)
	wait = time.Minute // the store failed: retry soon
	if err == nil {
		host = fetcher.HostKey(src, st)
		if !st.NextPoll.IsZero() {
			wait = max(time.Until(st.NextPoll), time.Second)
		}
	}
	if p.minWait != nil {
		wait = max(wait, p.minWait(src.Name))
	}
	return wait, host, false
}

// indexedHeap is a container/heap of items that know their index in it,
// for heap.Fix and heap.Remove, ordered by their before method.
type indexedHeap[T heapItem[T]] []T

// heapItem is what indexedHeap holds.
type heapItem[T any] interface {
	before(T) bool
	setIndex(int) // -1 once out of the heap
}

func (q indexedHeap[T]) Len() int           { return len(q) }
func (q indexedHeap[T]) Less(i, j int) bool { return q[i].before(q[j]) }
func (q indexedHeap[T]) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].setIndex(i)
	q[j].setIndex(j)
}
func (q *indexedHeap[T]) Push(x any) {
	t := x.(T)
	t.setIndex(len(*q))
	*q = append(*q, t)
}
func (q *indexedHeap[T]) Pop() any {
	old := *q
	t := old[len(old)-1]
	var none T
	old[len(old)-1] = none
	*q = old[:len(old)-1]
	t.setIndex(-1)
	return t
}

// loopQueue is a heap of sources, earliest due first.
type loopQueue = indexedHeap[*sourceLoop]

func (l *sourceLoop) before(o *sourceLoop) bool { return dueBefore(l, o) }
func (l *sourceLoop) setIndex(i int)            { l.idx = i }

// hostHeap is a heap of hosts, the one whose next source is due earliest first.
type hostHeap = indexedHeap[*hostQueue]

func (h *hostQueue) before(o *hostQueue) bool { return dueBefore(h.q[0], o.q[0]) }
func (h *hostQueue) setIndex(i int)           { h.idx = i }

// dueBefore orders sources by when they are due, then by name, so that
// the order does not depend on the heap's history.
func dueBefore(a, b *sourceLoop) bool {
	if !a.due.Equal(b.due) {
		return a.due.Before(b.due)
	}
	return a.src.Name < b.src.Name
}

// firstPoll is when a source polls first: at once (spread over spread)
// unless the stored state says to wait, for a backoff or a server's
// Retry-After, which thus survive a restart.
func firstPoll(state tidings.SourceState, src tidings.Source, interval time.Duration, now time.Time, spread time.Duration) time.Time {
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
		next = now
		if spread > 0 {
			next = now.Add(time.Duration(rand.Int64N(int64(spread))))
		}
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
