package fetcher

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/rss"

	"github.com/tidings/tidings"
)

// The adaptive interval rule (README "Polling"): a source is polled every
//
//	clamp(max(feed hint, HTTP hint), configured, ceiling)
//
// where the configured interval (the source's, else fetch.interval) is the
// floor: Tidings never polls faster than the config allows. The feed hint
// is the largest of RSS <ttl>, sy:updatePeriod/sy:updateFrequency and half
// the average gap between the feed's newest dated items; the HTTP hint is
// Cache-Control max-age or Expires of the last response. The ceiling is
// maxStretch times the configured interval, at most a day (and never below
// the configured interval), so a wrong hint cannot silence a feed for long.
// The time found is then moved out of the channel's skipHours/skipDays.
const (
	maxStretch  = 8
	maxAdaptive = 24 * time.Hour
	// unconditionalEvery forces a request without validators this often,
	// for servers whose ETag or Last-Modified never changes (or always does).
	unconditionalEvery = 12 * time.Hour
	// frequencyItems is how many of the newest items measure how often a
	// feed changes.
	frequencyItems = 10
)

// adaptive returns the poll interval for a source whose configured
// interval is base, given the hints of the feed and of the last response.
func adaptive(base, feedHint, httpHint time.Duration) time.Duration {
	ceiling := max(base, min(maxAdaptive, base*maxStretch))
	return min(max(base, feedHint, httpHint), ceiling)
}

// feedHint reads what a parsed feed says about how often it changes, and
// its skipHours and skipDays.
func feedHint(feed *gofeed.Feed) (hint time.Duration, skipHours uint32, skipDays uint8) {
	if rf, ok := feed.OriginalFeed().(*rss.Feed); ok {
		if m, err := strconv.Atoi(strings.TrimSpace(rf.TTL)); err == nil && m > 0 {
			hint = max(hint, time.Duration(min(m, 7*24*60))*time.Minute)
		}
		for _, h := range rf.SkipHours {
			if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 && n <= 24 {
				skipHours |= 1 << (n % 24) // some feeds count 1–24
			}
		}
		for _, d := range rf.SkipDays {
			if n, ok := weekdays[strings.ToLower(strings.TrimSpace(d))]; ok {
				skipDays |= 1 << n
			}
		}
	}
	hint = max(hint, syndication(feed))
	hint = max(hint, itemFrequency(feed.Items)/2)
	return hint, skipHours, skipDays
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

var syPeriods = map[string]time.Duration{
	"hourly": time.Hour, "daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour,
	"monthly": 30 * 24 * time.Hour, "yearly": 365 * 24 * time.Hour,
}

// syndication reads the RSS 1.0 Syndication module: updatePeriod divided
// by updateFrequency (default 1).
func syndication(feed *gofeed.Feed) time.Duration {
	sy := feed.Extensions["sy"]
	if sy == nil {
		return 0
	}
	value := func(name string) string {
		if e := sy[name]; len(e) > 0 {
			return strings.ToLower(strings.TrimSpace(e[0].Value))
		}
		return ""
	}
	period, ok := syPeriods[value("updatePeriod")]
	if !ok {
		return 0
	}
	freq := 1
	if n, err := strconv.Atoi(value("updateFrequency")); err == nil && n > 0 {
		freq = n
	}
	return period / time.Duration(freq)
}

// itemFrequency is the average gap between the newest dated items; zero
// with fewer than three.
func itemFrequency(items []*gofeed.Item) time.Duration {
	var dates []time.Time
	for _, it := range items {
		if it == nil {
			continue
		}
		switch {
		case it.PublishedParsed != nil:
			dates = append(dates, *it.PublishedParsed)
		case it.UpdatedParsed != nil:
			dates = append(dates, *it.UpdatedParsed)
		}
	}
	if len(dates) < 3 {
		return 0
	}
	slices.SortFunc(dates, func(a, b time.Time) int { return b.Compare(a) })
	dates = dates[:min(len(dates), frequencyItems)]
	span := dates[0].Sub(dates[len(dates)-1])
	if span <= 0 {
		return 0
	}
	return span / time.Duration(len(dates)-1)
}

// httpHint reads how long the response may be cached: Cache-Control
// max-age, else Expires relative to Date (or now).
func httpHint(h http.Header, now time.Time) time.Duration {
	for d := range strings.SplitSeq(h.Get("Cache-Control"), ",") {
		d = strings.TrimSpace(strings.ToLower(d))
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			if n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64); err == nil && n > 0 {
				return time.Duration(min(n, int64(maxAdaptive/time.Second))) * time.Second
			}
			return 0
		}
	}
	exp, err := http.ParseTime(h.Get("Expires"))
	if err != nil {
		return 0
	}
	ref := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		ref = d
	}
	if d := exp.Sub(ref); d > 0 {
		return min(d, maxAdaptive)
	}
	return 0
}

// skipTo moves t forward out of the skipped hours (UTC, as RSS defines
// them) and days. If every hour or every day is skipped, the list is
// ignored as nonsense.
func skipTo(t time.Time, hours uint32, days uint8) time.Time {
	if hours&(1<<24-1) == 1<<24-1 {
		hours = 0
	}
	if days&(1<<7-1) == 1<<7-1 {
		days = 0
	}
	for range 24 * 8 {
		u := t.UTC()
		if hours&(1<<u.Hour()) == 0 && days&(1<<u.Weekday()) == 0 {
			return t
		}
		t = u.Truncate(time.Hour).Add(time.Hour)
	}
	return t
}

// schedule sets st.Interval and st.NextPoll after a successful poll.
func (f *Fetcher) schedule(src tidings.Source, st *tidings.SourceState, now time.Time, httpHint time.Duration) {
	st.Interval = adaptive(f.Interval(src), st.FeedHint, httpHint)
	st.NextPoll = skipTo(now.Add(jitter(st.Interval)), st.SkipHours, st.SkipDays)
}
