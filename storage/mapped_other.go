//go:build !linux

package storage

const canReleaseMapped = false

func releaseMapped(uintptr, int) error { return nil }

func fileMapped() (int64, bool) { return 0, false }

const initialMap = 0 // bbolt's default (see mapped_linux.go)
