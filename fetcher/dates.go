package fetcher

import (
	"strings"
	"time"
)

// oddLayouts are date formats seen in real feeds that gofeed does not
// read: 12-hour clocks and missing seconds. Dates without a zone parse as
// UTC and are then moved into the source's timezone like gofeed's.
var oddLayouts = []string{
	"Mon, 2 Jan 2006 3:04 PM",
	"Mon, 2 Jan 2006 3:04:05 PM",
	"Mon, 2 Jan 2006 3:04 PM MST",
	"Mon, 2 Jan 2006 3:04 PM -0700",
	"Mon, 2 Jan 2006 3:04:05 PM -0700",
	"2 Jan 2006 3:04 PM",
	"Mon, 2 Jan 2006 15:04",
	"Mon, 2 January 2006 15:04:05 -0700",
	"January 2, 2006 3:04 PM",
	"Jan 2, 2006 3:04 PM",
	"2006-01-02 3:04 PM",
	"2006/01/02 15:04:05",
	"2006/01/02 15:04",
}

// parseOddDate tries oddLayouts on a date gofeed left unparsed.
func parseOddDate(s string) *time.Time {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return nil
	}
	for _, l := range oddLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return &t
		}
	}
	return nil
}
