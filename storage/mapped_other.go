//go:build !linux

package storage

const canReleaseMapped = false

func releaseMapped(uintptr, int) error { return nil }

func fileMapped() (int64, bool) { return 0, false }
