package storage

import "syscall"

const canReleaseMapped = true

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
