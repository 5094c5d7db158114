package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// isTerminal reports whether w is a character device (a terminal), where
// `fetch` draws a progress bar; pipes and files get plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// progress draws "[=====>    ] 12/40 sources · 37 new items" on one
// terminal line, redrawn in place.
type progress struct {
	w            io.Writer
	total        int
	done, items  int
	failed       int
	lastDraw     time.Time
	drawInterval time.Duration
}

func (p *progress) add(r pollResult) {
	p.done++
	p.items += r.saved.New
	if r.err != nil {
		p.failed++
	}
	if p.done == p.total || time.Since(p.lastDraw) >= p.drawInterval {
		p.draw()
	}
}

func (p *progress) draw() {
	p.lastDraw = time.Now()
	const width = 30
	filled := 0
	if p.total > 0 {
		filled = p.done * width / p.total
	}
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	line := fmt.Sprintf("[%s] %d/%d sources · %d new items", bar, p.done, p.total, p.items)
	if p.failed > 0 {
		line += fmt.Sprintf(" · %d failed", p.failed)
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
}

// finish clears the bar.
func (p *progress) finish() { fmt.Fprint(p.w, "\r\x1b[K") }

// writeFetchTable prints the summary table `fetch` shows on a terminal.
func writeFetchTable(w io.Writer, results []pollResult, skipped map[int]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tRESULT\tITEMS\tNEW\tUPDATED\tTIME")
	var items, fresh, updated, failed int
	for i, r := range results {
		switch {
		case skipped[i] != "":
			fmt.Fprintf(tw, "%s\tskipped\t-\t-\t-\t-\n", r.source)
		case r.err != nil:
			failed++
			fmt.Fprintf(tw, "%s\terror\t-\t-\t-\t%s\n", r.source, r.duration.Round(time.Millisecond))
		case r.notModified:
			fmt.Fprintf(tw, "%s\tnot modified\t-\t-\t-\t%s\n", r.source, r.duration.Round(time.Millisecond))
		default:
			items, fresh, updated = items+r.items, fresh+r.saved.New, updated+r.saved.Updated
			fmt.Fprintf(tw, "%s\tok\t%d\t%d\t%d\t%s\n", r.source, r.items, r.saved.New, r.saved.Updated, r.duration.Round(time.Millisecond))
		}
	}
	fmt.Fprintf(tw, "%d sources\t%d failed\t%d\t%d\t%d\t\n", len(results), failed, items, fresh, updated)
	tw.Flush()
	for i, r := range results {
		if msg := skipped[i]; msg != "" {
			fmt.Fprintf(w, "%s: %s\n", r.source, msg)
		} else if r.err != nil {
			fmt.Fprintf(w, "%s: %v\n", r.source, r.err)
		}
	}
}
