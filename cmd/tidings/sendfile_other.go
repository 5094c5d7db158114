//go:build !linux

package main

import (
	"errors"
	"net"
	"os"
)

// bodyFile exists on Linux only (memfd_create and sendfile); elsewhere
// bodies are written from memory.
type bodyFile struct{ size, off int64 }

func newBodyFile([]byte, int64, int) (*bodyFile, error) {
	return nil, errors.New("documents are served from memory on this system")
}

func (b *bodyFile) get() (*os.File, error) { return nil, errors.ErrUnsupported }

func (b *bodyFile) put(*os.File) {}

// cork does nothing here: TCP_CORK is Linux's.
func cork(net.Conn, bool) bool { return false }
