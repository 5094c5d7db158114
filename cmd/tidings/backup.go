package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tidings/tidings/storage"
)

// runBackup is `tidings backup FILE`: a consistent copy of the store, taken
// from the store itself when no daemon runs, else streamed by the daemon
// from GET /admin/backup. The copy is written next to FILE and renamed over
// it only once complete and synced, so FILE is never half a store.
func runBackup(ctx context.Context, e *env, o *options) error {
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	dest := o.args[0]
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return fmt.Errorf("backup: create a file next to %s: %w", dest, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	via := "store"
	n, err := backupFromStore(ctx, s, tmp)
	if errors.Is(err, storage.ErrLocked) {
		via = "daemon at " + daemonURL(s.cfg)
		n, err = backupFromDaemon(ctx, s, tmp)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(e.stdout, "backed up %s (%d bytes, from the %s) to %s\n", s.cfg.Storage.Path, n, via, dest)
	return nil
}

// backupFromStore copies the store opened read-only; it fails with
// storage.ErrLocked while a daemon holds it.
func backupFromStore(ctx context.Context, s *setup, w io.Writer) (int64, error) {
	st, err := openStore(s.cfg, true)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.Backup(ctx, w, nil)
}

// backupFromDaemon asks the running daemon for a copy, with the admin token
// of the same config.
func backupFromDaemon(ctx context.Context, s *setup, w io.Writer) (int64, error) {
	url := daemonURL(s.cfg) + "/admin/backup"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if tok := s.cfg.Server.AdminToken; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the store is in use by the daemon, and asking it at %s failed: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("the daemon at %s answered %s: %s", url, resp.Status, body)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read the copy from %s: %w", url, err)
	}
	// A copy cut short by a daemon that died midway is no store: check.
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("the daemon at %s sent %d of %d bytes", url, n, resp.ContentLength)
	}
	return n, nil
}

// handleBackup streams a consistent copy of the store (admin).
func (s *server) handleBackup(w http.ResponseWriter, r *http.Request) {
	// A big store takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="tidings.db"`)
	start := time.Now()
	n, err := s.store.Backup(r.Context(), w, func(size int64) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	})
	if err != nil {
		// Once bytes are sent the status is gone; the announced length
		// lets the client see the copy is short.
		s.log.Error("backup", "err", err, "bytes", n)
		if n == 0 {
			w.Header().Del("Content-Length")
			http.Error(w, "500 internal error: backup failed; the log says why", http.StatusInternalServerError)
		}
		return
	}
	s.log.Info("backup sent", "bytes", n, "duration", time.Since(start).Round(time.Millisecond))
}

// runCompact is `tidings compact`: rewrite the store without free pages.
// It needs the store to itself, so it refuses while the daemon runs.
func runCompact(ctx context.Context, e *env, o *options) error {
	s, err := loadSetup(o.config)
	if err != nil {
		return configError(e, err)
	}
	before, after, err := storage.Compact(ctx, s.cfg.Storage.Path, 2*time.Second)
	if errors.Is(err, storage.ErrLocked) {
		return fmt.Errorf("compact needs the store to itself: stop `tidings serve` first, then run it again (%w)", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "compacted %s: %d → %d bytes\n", s.cfg.Storage.Path, before, after)
	return nil
}
