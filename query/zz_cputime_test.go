package query

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func cpuPer(n int, f func()) time.Duration {
	f()
	t0 := cpuNow()
	for i := 0; i < n; i++ {
		f()
	}
	return (cpuNow() - t0) / time.Duration(n)
}

func TestZZCPU(t *testing.T) {
	if os.Getenv("ZZCPU") == "" {
		t.Skip()
	}
	it := articleItem(t)
	raw, _ := os.ReadFile("testdata/article.txt")
	text := string(raw)
	qs := make([]*Query, len(topicQueries))
	for i, s := range topicQueries {
		qs[i] = mustParse(t, s)
	}
	d := NewDoc(it)
	for r := 0; r < 3; r++ {
		t.Logf("NewDoc      %v", cpuPer(3000, func() { NewDoc(it) }))
		t.Logf("MatchDoc x8 %v", cpuPer(3000, func() {
			for _, q := range qs {
				q.MatchDoc(d)
			}
		}))
		t.Logf("Words       %v", cpuPer(3000, func() { Words(text) }))
		t.Logf("x/text      %v", cpuPer(3000, func() {
			tr := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)))
			folded, _, _ := transform.String(tr, text)
			strings.FieldsFunc(strings.ToLower(folded), func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsDigit(r)
			})
		}))
	}
}
