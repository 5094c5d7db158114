package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The fast path answers the requests that are most of a feed server's
// traffic, GETs and HEADs of a cached topic feed, index page or OPML list
// and their revalidations, with an HTTP/1.1 loop of its own below
// net/http. Profiles of a 304 showed our handler under 1 µs of the ~47 µs
// of CPU a request cost; the rest was net/http and the runtime around it:
// parsing into maps, a context and a background read per request, more
// goroutine switches (bench/README.md, serve).
//
// Every connection of the public listener starts here. The first request
// the fast path does not answer exactly as the handler would (anything but
// a plain GET or HEAD of a document that exists and renders, see
// parseRequest and publisher.renderAt) is given to net/http with the rest
// of the connection: the
// bytes already read are replayed to it (handoffConn), through a listener
// that the http.Server serves (handoffListener). Requests are only handed
// over at their start, so pipelined requests keep their order.

// fastBufSize is the read buffer of a connection: a request whose header
// does not fit goes to net/http, whose limit is higher.
const fastBufSize = 4 << 10

var fastBufs = sync.Pool{New: func() any { b := make([]byte, fastBufSize); return &b }}

// fastServer serves a listener: the fast path first, hs for the rest.
type fastServer struct {
	srv *server
	hs  *http.Server
	log *slog.Logger
	// The timeouts of hs, kept by the fast path with deadlines.
	readHeaderTimeout, idleTimeout, writeTimeout time.Duration

	handoff   chan net.Conn // to hs, through handoffListener
	acceptErr chan error    // the listener's error that ends Serve, to hs
	httpDone  chan struct{} // closed when hs closes handoffListener
	closeHTTP sync.Once

	// ctx ends renders on the fast path when its connections are cut.
	ctx    context.Context
	cancel context.CancelFunc

	closing atomic.Bool
	mu      sync.Mutex // guards ln and conns
	ln      net.Listener
	conns   map[*fastConn]struct{}
	wg      sync.WaitGroup // a count of conns

	// Counts of requests answered and of connections handed over, for tests.
	answered, handedOver atomic.Int64
}

// newFastServer puts the fast path in front of hs, with its timeouts.
func newFastServer(srv *server, hs *http.Server) *fastServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &fastServer{
		ctx:    ctx,
		cancel: cancel,
		srv:    srv,
		hs:     hs,
		log:    srv.log,
		// As net/http reads them: ReadTimeout stands in for the others.
		readHeaderTimeout: cmp.Or(hs.ReadHeaderTimeout, hs.ReadTimeout),
		idleTimeout:       cmp.Or(hs.IdleTimeout, hs.ReadTimeout),
		writeTimeout:      hs.WriteTimeout,
		handoff:           make(chan net.Conn),
		acceptErr:         make(chan error),
		httpDone:          make(chan struct{}),
		conns:             map[*fastConn]struct{}{},
	}
}

// Serve accepts connections on ln until Shutdown or Close, and returns
// what hs.Serve returns: http.ErrServerClosed after those, or the error
// that ended the listener.
func (fs *fastServer) Serve(ln net.Listener) error {
	fs.mu.Lock()
	if fs.closing.Load() {
		fs.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	fs.ln = ln
	fs.mu.Unlock()
	go fs.accept(ln)
	return fs.hs.Serve(&handoffListener{fs: fs, addr: ln.Addr()})
}

// accept runs the fast path on each connection of ln.
func (fs *fastServer) accept(ln net.Listener) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if fs.closing.Load() {
				return
			}
			if errors.Is(err, net.ErrClosed) {
				select {
				case fs.acceptErr <- err:
				case <-fs.httpDone:
				}
				return
			}
			// Out of descriptors and the like: wait and retry, as
			// net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			fs.log.Warn("accept a connection; retrying", "in", delay, "err", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		fc := &fastConn{fs: fs, c: c}
		if !fs.track(fc) {
			c.Close()
			return
		}
		go fc.serve()
	}
}

func (fs *fastServer) track(fc *fastConn) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closing.Load() {
		return false
	}
	fs.conns[fc] = struct{}{}
	fs.wg.Add(1)
	return true
}

func (fs *fastServer) untrack(fc *fastConn) {
	fs.mu.Lock()
	delete(fs.conns, fc)
	fs.mu.Unlock()
	fs.wg.Done()
}

// handOver gives c to hs, with the bytes read from it and not answered.
func (fs *fastServer) handOver(c net.Conn, pending []byte) {
	// Counted before net/http has it: it may answer before this goroutine
	// runs again, and tests read the count after the answer.
	fs.handedOver.Add(1)
	select {
	case fs.handoff <- &handoffConn{Conn: c, pending: pending}:
	case <-fs.httpDone:
		fs.handedOver.Add(-1)
		c.Close()
	}
}

// Shutdown stops accepting, closes the connections waiting for a request,
// lets those answering one finish (handing over goes on meanwhile), then
// shuts hs down. When ctx ends first, the fast path's connections are
// closed, and hs is shut down with ctx as it is.
func (fs *fastServer) Shutdown(ctx context.Context) error {
	fs.mu.Lock()
	fs.closing.Store(true)
	ln := fs.ln
	for fc := range fs.conns {
		fc.closeIfIdle()
	}
	fs.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	done := make(chan struct{})
	go func() { fs.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		fs.closeConns()
		<-done
	}
	fs.cancel()
	if herr := fs.hs.Shutdown(ctx); err == nil {
		err = herr
	}
	return err
}

// Close closes the listener and every connection at once.
func (fs *fastServer) Close() error {
	fs.mu.Lock()
	fs.closing.Store(true)
	ln := fs.ln
	fs.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	fs.closeConns()
	return fs.hs.Close()
}

func (fs *fastServer) closeConns() {
	fs.cancel()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for fc := range fs.conns {
		fc.c.Close()
	}
}

// States of a fastConn.
const (
	connIdle   = iota // waiting for a request (or the first bytes of the first one)
	connActive        // reading or answering a request
	connClosed        // closed by Shutdown while idle
)

// fastConn is one connection on the fast path.
type fastConn struct {
	fs    *fastServer
	c     net.Conn
	state atomic.Int32

	buf  []byte // buf[r:w] is read and not yet answered
	r, w int
	out  []byte // the response header being written

	// The deadlines last set: moving one later by a little is skipped
	// (see setDeadline).
	readBy, writeBy time.Time
}

// closeIfIdle closes the connection if it waits for a request; one
// answering a request closes after it (it checks fs.closing).
func (fc *fastConn) closeIfIdle() {
	if fc.state.CompareAndSwap(connIdle, connClosed) {
		fc.c.Close()
	}
}

// serve answers the connection's requests until one is to go to net/http,
// the connection closes or a timeout passes.
func (fc *fastConn) serve() {
	fs := fc.fs
	defer fs.untrack(fc)
	bp := fastBufs.Get().(*[]byte)
	fc.buf = *bp
	handedOver := false
	defer func() {
		if !handedOver {
			fc.c.Close()
			fastBufs.Put(bp)
		}
	}()

	// The first request's header must come within readHeaderTimeout of
	// the connection, as with net/http; later ones within it of their
	// first byte, after up to idleTimeout of waiting.
	if fc.setReadDeadline(time.Now(), fs.readHeaderTimeout) != nil {
		return
	}
	first, begun := true, true
	var req fastRequest
	for {
		n, res := parseRequest(fc.buf[fc.r:fc.w], &req)
		if res == parseIncomplete && fc.w-fc.r == len(fc.buf) {
			res = parseHandover // a header larger than the buffer
		}
		var hd hotDoc
		if res == parseOK {
			var ok bool
			if hd, ok = fs.srv.pub.hotDoc(req.path); !ok {
				// Rendered here, after a poll changed the store, so that
				// the connections open then stay on the fast path.
				if hd, ok = fs.srv.pub.renderAt(fs.ctx, req.path); !ok {
					res = parseHandover
				}
			}
		}
		switch res {
		case parseHandover:
			handedOver = true
			fs.handOver(fc.c, fc.buf[fc.r:fc.w])
			return
		case parseIncomplete:
			if fc.r == fc.w {
				fc.r, fc.w = 0, 0
				if !first {
					// Idle between requests: Shutdown may close it now.
					fc.state.Store(connIdle)
					if fs.closing.Load() || fc.setReadDeadline(time.Now(), fs.idleTimeout) != nil {
						return
					}
				}
			} else if !begun {
				begun = true
				if fc.setReadDeadline(time.Now(), fs.readHeaderTimeout) != nil {
					return
				}
			}
			if fc.w == len(fc.buf) { // room for the rest of the header
				fc.w = copy(fc.buf, fc.buf[fc.r:fc.w])
				fc.r = 0
			}
			m, err := fc.c.Read(fc.buf[fc.w:])
			fc.w += m
			if err != nil && m == 0 {
				return // closed, reset or timed out
			}
			if !fc.state.CompareAndSwap(connIdle, connActive) && fc.state.Load() != connActive {
				return // Shutdown closed it
			}
			first = false
			continue
		}
		fc.r += n
		if fc.r == fc.w {
			fc.r, fc.w = 0, 0
		}
		begun = false
		if err := fc.answer(&req, hd); err != nil || req.close || fs.closing.Load() {
			return
		}
	}
}

// answer writes the response to req, as server.serve would.
func (fc *fastConn) answer(req *fastRequest, hd hotDoc) error {
	fs := fc.fs
	c := conditions{ifNoneMatch: string(req.ifNoneMatch), ifModifiedSince: string(req.ifModifiedSince)}
	var ae [1]string
	if req.acceptEncoding != nil {
		ae[0] = string(req.acceptEncoding)
		c.acceptEncoding = ae[:]
	}
	doc, code := choose(hd.doc, c)
	defer fs.srv.metrics.served(hd.kind, hd.topic, code).Inc()
	fs.answered.Add(1)

	now := time.Now()
	if err := fc.setWriteDeadline(now, fs.writeTimeout); err != nil {
		return err
	}
	closing := req.close || fs.closing.Load()
	out := fc.out[:0]
	if req.http10 {
		out = append(out, "HTTP/1.0 "...)
	} else {
		out = append(out, "HTTP/1.1 "...)
	}
	wire := doc.wire()
	if code == http.StatusNotModified {
		out = append(out, "304 Not Modified\r\n"...)
		out = append(out, wire.notModified...)
	} else {
		out = append(out, "200 OK\r\n"...)
		out = append(out, wire.ok...)
	}
	out = append(out, "Date: "...)
	out = appendDate(out, now)
	out = append(out, "\r\n"...)
	switch {
	case closing && !req.http10:
		out = append(out, "Connection: close\r\n"...)
	case !closing && req.keepAlive10:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	out = append(out, "\r\n"...)
	fc.out = out

	var err error
	switch {
	case code == http.StatusNotModified || req.head:
		_, err = fc.c.Write(out)
	case fs.srv.bodyFile(doc) != nil:
		err = fc.sendFile(out, doc)
	default:
		bufs := net.Buffers{out, doc.body}
		_, err = bufs.WriteTo(fc.c)
	}
	return err
}

// sendFile writes the header in out and a 200's body of doc, most of it
// with sendfile(2) from the document's memfd, corked: see server.sendFile.
func (fc *fastConn) sendFile(out []byte, doc *rendered) error {
	f, err := doc.file.get()
	if err != nil {
		bufs := net.Buffers{out, doc.body}
		_, err = bufs.WriteTo(fc.c)
		return err
	}
	defer doc.file.put(f)
	return writeCorked(fc.c, fc.c, out, doc, f)
}

// setReadDeadline sets the read deadline to now+d (none if d is 0).
func (fc *fastConn) setReadDeadline(now time.Time, d time.Duration) error {
	return setDeadline(&fc.readBy, now, d, fc.c.SetReadDeadline)
}

// setWriteDeadline sets the write deadline to now+d (none if d is 0).
func (fc *fastConn) setWriteDeadline(now time.Time, d time.Duration) error {
	return setDeadline(&fc.writeBy, now, d, fc.c.SetWriteDeadline)
}

// setDeadline moves the deadline *by to now+d with set, unless that moves
// it later by less than 1/32 of d: a connection busy with requests then
// sets one every few seconds, not one per request, and each timeout is
// kept to within 97% of its length.
func setDeadline(by *time.Time, now time.Time, d time.Duration, set func(time.Time) error) error {
	var t time.Time
	if d > 0 {
		t = now.Add(d)
	}
	if t.Equal(*by) || !by.IsZero() && !t.IsZero() && !t.Before(*by) && t.Sub(*by) < d/32 {
		return nil
	}
	*by = t
	return set(t)
}

// wireHeader is a document's response header fields as net/http would
// write them for server.serve (sorted, 304 without Content-Type and
// Content-Length), each line with its CRLF; Date and Connection follow.
type wireHeader struct {
	ok, notModified []byte
}

// wire returns the document's response header fields, made once.
func (r *rendered) wire() *wireHeader {
	r.wireOnce.Do(func() {
		ok := maps.Clone(r.header)
		ok["Content-Length"] = r.length
		var b bytes.Buffer
		ok.Write(&b) // to a bytes.Buffer: no error
		w := &wireHeader{ok: bytes.Clone(b.Bytes())}
		b.Reset()
		r.header.WriteSubset(&b, map[string]bool{"Content-Type": true, "Content-Length": true, "Transfer-Encoding": true})
		w.notModified = b.Bytes()
		r.wireVal = w
	})
	return r.wireVal
}

// dateStamp is the Date field of the current second, formatted once.
type dateStamp struct {
	sec int64
	b   []byte
}

var lastDate atomic.Pointer[dateStamp]

// appendDate appends now as an HTTP date (http.TimeFormat).
func appendDate(out []byte, now time.Time) []byte {
	sec := now.Unix()
	if d := lastDate.Load(); d != nil && d.sec == sec {
		return append(out, d.b...)
	}
	d := &dateStamp{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	lastDate.Store(d)
	return append(out, d.b...)
}

// handoffListener gives hs the connections the fast path hands over.
type handoffListener struct {
	fs   *fastServer
	addr net.Addr
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.fs.handoff:
		return c, nil
	case err := <-l.fs.acceptErr:
		return nil, err
	case <-l.fs.httpDone:
		return nil, net.ErrClosed
	}
}

// Close is called by hs as it shuts down: later hand-overs close their
// connection instead.
func (l *handoffListener) Close() error {
	l.fs.closeHTTP.Do(func() { close(l.fs.httpDone) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// handoffConn is a connection handed over to net/http: its reads return
// first the bytes the fast path had read and not answered. It passes on
// what net/http and sendFile look for in a *net.TCPConn: ReadFrom (for
// sendfile), CloseWrite, and the descriptor (for TCP_CORK).
type handoffConn struct {
	net.Conn
	pending []byte
}

func (h *handoffConn) Read(p []byte) (int, error) {
	if len(h.pending) > 0 {
		n := copy(p, h.pending)
		h.pending = h.pending[n:]
		if len(h.pending) == 0 {
			h.pending = nil // let the buffer go
		}
		return n, nil
	}
	return h.Conn.Read(p)
}

func (h *handoffConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := h.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{h.Conn}, r)
}

func (h *handoffConn) CloseWrite() error {
	if cw, ok := h.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (h *handoffConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := h.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}
