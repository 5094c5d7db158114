package storage

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

const canReleaseMapped = true

// fileMapped returns how much of the process's resident memory is mapped
// from files: the store's pages and the program's own, from RssFile in
// /proc/self/status (not statm's "shared", which counts the in-memory
// files sendfile serves from too).
func fileMapped() (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	_, rest, ok := bytes.Cut(b, []byte("\nRssFile:"))
	if !ok {
		return 0, false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	f := bytes.Fields(line) // "123456", "kB"
	if len(f) != 2 || string(f[1]) != "kB" {
		return 0, false
	}
	kb, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, false
	}
	return kb << 10, true
}

// releaseMapped tells the kernel this process no longer needs its mapping
// of size bytes at addr: MADV_DONTNEED on a shared file mapping unmaps the
// pages and leaves them in the page cache, with their contents.
func releaseMapped(addr uintptr, size int) error {
	if size <= 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}

// initialMap is the size of bbolt's first map of the store (Open). Only on
// Linux, where bbolt leaves the file's size to its AllocSize (Store.write);
// on Windows it grows the file to the size of the map.
const initialMap = 256 << 20
