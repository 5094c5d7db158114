//go:build linux

package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// bodyFile is a copy of a rendered document's body in an anonymous file in
// memory (memfd_create), so that a 200 can go out with sendfile(2): the
// kernel hands the file's pages to the socket, where write(2) would first
// copy the body from the Go heap. With a 149 KB feed that copy was most of
// the daemon's time under load (bench/README.md, serve).
//
// sendfile without an offset reads from, and moves, the file's own offset,
// so each request in flight needs its own open file description (a dup
// would share one): get opens the memfd again through /proc/self/fd, and
// put keeps up to cap(free) of them for the next requests. Descriptors are
// closed when the document is dropped from the cache and collected.
type bodyFile struct {
	path string // /proc/self/fd/N of memfd
	size int64
	off  int64 // where each description starts: the caller writes body[:off] itself
	// memfd keeps the file alive; the reopened descriptions refer to it.
	memfd *os.File
	free  chan *os.File
}

// newBodyFile copies body into a new memfd. It fails where memfd_create or
// /proc is missing; the caller then writes bodies from memory.
func newBodyFile(body []byte, off int64, idle int) (*bodyFile, error) {
	fd, err := unix.MemfdCreate("tidings-document", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:tidings-document")
	if _, err := f.Write(body); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy a document into a memfd: %w", err)
	}
	b := &bodyFile{path: "/proc/self/fd/" + strconv.Itoa(fd), size: int64(len(body)), off: off, memfd: f, free: make(chan *os.File, idle)}
	// Open one description now, so a missing /proc shows here, once.
	r, err := b.get()
	if err != nil {
		f.Close()
		return nil, err
	}
	b.put(r)
	return b, nil
}

// get returns a description of the file of its own, at offset off.
func (b *bodyFile) get() (*os.File, error) {
	select {
	case f := <-b.free:
		return f, nil
	default:
	}
	f, err := os.Open(b.path)
	if err == nil {
		_, err = f.Seek(b.off, io.SeekStart)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("open a memfd again: %w", err)
	}
	return f, nil
}

// put rewinds f for the next request and keeps it, or closes it when
// enough are kept.
func (b *bodyFile) put(f *os.File) {
	if _, err := f.Seek(b.off, io.SeekStart); err != nil {
		f.Close()
		return
	}
	select {
	case b.free <- f:
	default:
		f.Close()
	}
}

// cork sets or clears TCP_CORK on a TCP connection: while set, the kernel
// sends only full segments. It reports whether it could.
// The connection may be a *net.TCPConn or one that wraps it and gives
// its descriptor (handoffConn).
func cork(c net.Conn, on bool) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	v := 0
	if on {
		v = 1
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, v) }); err != nil {
		return false
	}
	return serr == nil
}
