package dedupe

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/query"
)

// Realistic news texts, written for these tests in the style of wire copy.
const (
	steelText  = `Mexico and Canada agreed on Tuesday to lower tariffs on steel and aluminium, ending months of negotiations that had strained relations within the USMCA trade bloc. The deal, announced by both economy ministries, removes a 25 percent levy imposed last spring and sets up a joint monitoring committee to track import surges. Business groups in Monterrey welcomed the accord, while unions warned that cheap imports from Asia could still reach the region through third countries.`
	quakeText  = `A magnitude 6.4 earthquake struck off the coast of Oaxaca early on Sunday, shaking buildings in Mexico City more than 400 kilometres away, the national seismological service said. There were no immediate reports of deaths. Civil protection officials said several homes were damaged in coastal towns and that schools in the state would remain closed on Monday while engineers inspect them.`
	strikeText = `Thousands of autoworkers walked off the job at three assembly plants in Ohio and Michigan on Friday after contract talks with the company collapsed overnight, the union said. The strike is the first at the automaker in more than a decade. Negotiators remain far apart on wages, pensions and the use of temporary workers, and no new talks have been scheduled.`
)

func item(title, text string) *tidings.Item {
	return &tidings.Item{Title: title, Summary: text}
}

func TestNearPairs(t *testing.T) {
	tests := map[string]struct {
		a, b *tidings.Item
		same bool
	}{
		"wire story reposted verbatim with another headline": {
			a:    item("Mexico, Canada cut steel tariffs", steelText),
			b:    item("Canada and Mexico end steel tariff dispute", steelText),
			same: true,
		},
		"dateline and agency credit added": {
			a:    item("Mexico, Canada cut steel tariffs", steelText),
			b:    item("Mexico, Canada cut steel tariffs", "MEXICO CITY (Reuters) - "+steelText+" Reporting by Ana Ruiz; editing by Tom Hale."),
			same: true,
		},
		"summary cut after two sentences, content as HTML": {
			a:    item("Strong quake shakes southern Mexico", quakeText),
			b:    &tidings.Item{Title: "Strong quake shakes southern Mexico", Content: "<p>A magnitude 6.4 earthquake struck off the coast of Oaxaca early on Sunday, shaking buildings in <b>Mexico City</b> more than 400 kilometres away, the national seismological service said.</p><p>There were no immediate reports of deaths. Civil protection officials said several homes were damaged in coastal towns and that schools in the state would remain closed on Monday while engineers inspect them.</p>"},
			same: true,
		},
		"headline tweaked and one sentence edited": {
			a:    item("Autoworkers strike at three plants", strikeText),
			b:    item("Autoworkers strike at three US plants after talks collapse", `Thousands of autoworkers walked off the job at three assembly plants in Ohio and Michigan on Friday after contract talks with the company broke down overnight, the union said. The strike is the first at the automaker in more than a decade. Negotiators remain far apart on wages, pensions and the use of temporary workers, and no new talks have been scheduled.`),
			same: true,
		},
		"accents and case differ": {
			a:    item("Sismo sacude Oaxaca", "Un sismo de magnitud 6,4 sacudió la costa de Oaxaca el domingo por la mañana y se sintió en la Ciudad de México, informó el Servicio Sismológico Nacional. No se reportaron víctimas."),
			b:    item("SISMO SACUDE OAXACA", "Un sismo de magnitud 6,4 sacudio la costa de Oaxaca el domingo por la manana y se sintio en la Ciudad de Mexico, informo el Servicio Sismologico Nacional. No se reportaron victimas."),
			same: true,
		},
		"same subject, different story": {
			a: item("Mexico, Canada cut steel tariffs", steelText),
			b: item("US threatens new tariffs on Mexican steel", `The United States on Wednesday threatened to reimpose tariffs on Mexican steel, accusing Mexico of letting Chinese metal reach American markets through its plants. Mexico's economy ministry said it would respond within the USMCA dispute panel and called the accusation unfounded. Steel shares in Monterrey fell sharply after the announcement.`),
		},
		"same places, different event": {
			a: item("Strong quake shakes southern Mexico", quakeText),
			b: item("Floods close schools in Oaxaca", `Heavy rains from a tropical storm flooded coastal towns in Oaxaca on Sunday, and civil protection officials said schools in the state would remain closed on Monday. Several homes were damaged and roads to Mexico City were cut, the state government said. There were no immediate reports of deaths.`),
		},
		"follow-up story on the same strike": {
			a: item("Autoworkers strike at three plants", strikeText),
			b: item("Strike spreads to a fourth plant", `The autoworkers' strike spread to a fourth plant in Indiana on Monday as the union said the company had made no new offer over the weekend. Picket lines grew outside the factories in Ohio and Michigan, and the company said it would temporarily lay off suppliers' staff. Analysts estimate the walkout costs the automaker about 100 million dollars a day.`),
		},
		"different stories, shared boilerplate": {
			a: item("Parliament passes budget", `Parliament passed next year's budget on Thursday by a narrow margin after a night of debate over defence spending and pensions. Subscribe to our newsletter for the latest news, and follow us on social media for updates throughout the day.`),
			b: item("Central bank holds rates", `The central bank held its benchmark interest rate at 4.5 percent on Thursday, citing persistent inflation in services and housing. Subscribe to our newsletter for the latest news, and follow us on social media for updates throughout the day.`),
		},
		"daily market reports from one template": {
			a: item("Stocks close higher", `Wall Street stocks closed higher on Monday, with the S&P 500 up 0.8 percent and the Nasdaq up 1.2 percent, as technology shares rallied ahead of earnings. The dollar weakened against the euro and oil prices rose 2 percent.`),
			b: item("Stocks close lower", `Wall Street stocks closed lower on Tuesday, with the S&P 500 down 1.1 percent and the Nasdaq down 1.6 percent, as bank shares slid after weak earnings. The dollar strengthened against the euro and oil prices fell 3 percent.`),
		},
		"short headlines only are never merged": {
			a: item("Markets close lower", ""),
			b: item("Markets close lower", ""),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fa, fb := Fingerprint(tc.a), Fingerprint(tc.b)
			d := Distance(fa, fb)
			t.Logf("%s: distance %d", name, d)
			if got := Near(fa, fb, StrictDistance); got != tc.same {
				t.Errorf("Near = %v (distance %d, threshold %d), want %v", got, d, StrictDistance, tc.same)
			}
		})
	}
}

// TestBandsPigeonhole checks the promise Bands makes: fingerprints within
// maxDist bits share a band.
func TestBandsPigeonhole(t *testing.T) {
	fp := Fingerprint(item("Mexico, Canada cut steel tariffs", steelText))
	for flips := range 64 {
		other := fp
		for i := 0; i <= StrictDistance && i < 64; i++ {
			other ^= 1 << ((flips + i*5) % 64)
		}
		d := Distance(fp, other)
		bands := map[[2]uint64]bool{}
		Bands(fp, d, func(b int, v uint64) { bands[[2]uint64{uint64(b), v}] = true })
		shared := false
		Bands(other, d, func(b int, v uint64) { shared = shared || bands[[2]uint64{uint64(b), v}] })
		if !shared {
			t.Fatalf("fingerprints %d bits apart share no band of %d", d, d+1)
		}
	}
}

func TestFingerprintTooShort(t *testing.T) {
	if fp := Fingerprint(item("Markets close lower", "Shares fell.")); fp != 0 {
		t.Errorf("Fingerprint of 5 words = %x, want 0", fp)
	}
	if fp := Fingerprint(item("Mexico, Canada cut steel tariffs", steelText)); fp == 0 {
		t.Error("Fingerprint of a full story = 0")
	}
}

// FuzzFingerprint: any title and HTML give a fingerprint without panicking,
// the same one every time, and the same as the plain reference computes.
func FuzzFingerprint(f *testing.F) {
	f.Add("Mexico, Canada cut steel tariffs", steelText)
	f.Add("Sismo", "<p>Un sismo de magnitud 6,4 &amp; <script>x</script> sacudió Oaxaca</p>")
	f.Add("", "<")
	f.Fuzz(func(t *testing.T, title, html string) {
		it := &tidings.Item{Title: title, Content: html}
		fp, text := Analyze(it)
		if fp2, text2 := Analyze(it); fp2 != fp || text2 != text {
			t.Fatalf("Analyze is not deterministic: %x/%x", fp, fp2)
		}
		if (fp == 0) != (text == [16]byte{}) {
			t.Errorf("fingerprint %x but text hash %x", fp, text)
		}
		if pfp, ptext := plainAnalyze(it); pfp != fp || ptext != text {
			t.Errorf("Analyze = %x/%x, the plain reference gives %x/%x", fp, text, pfp, ptext)
		}
	})
}

// hashPair is the feature hash as first written: 64-bit FNV-1a of a, a
// 0xff separator and b, one word after the other.
func hashPair(a, b string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * fnvPrime
	}
	h = (h ^ 0xff) * fnvPrime
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * fnvPrime
	}
	return h
}

// plainSimhash is SimHash as first written: a counter per bit, +1 or -1
// per feature, features hashed with hashPair.
func plainSimhash(title, body []string) (fp uint64) {
	var v [64]int32
	add := func(a, b string) {
		h := mix(hashPair(a, b))
		for i := range v {
			if h&(1<<i) != 0 {
				v[i]++
			} else {
				v[i]--
			}
		}
	}
	for _, ws := range [2][]string{title, body} {
		if len(ws) == 1 {
			add(ws[0], "")
		}
		for i := 1; i < len(ws); i++ {
			add(ws[i-1], ws[i])
		}
	}
	for i, n := range v {
		if n > 0 {
			fp |= 1 << i
		}
	}
	return fp
}

// plainAnalyze is Analyze as first written, on word strings: the
// reference the fast one must match, fingerprints being stored.
func plainAnalyze(it *tidings.Item) (fp uint64, text [16]byte) {
	strs := func(w query.WordList) []string {
		var ss []string
		for i := range w.Len() {
			ss = append(ss, string(w.At(i)))
		}
		return ss
	}
	t, s, c := query.ItemWords(it)
	title, body := strs(t), strs(s)
	if c.Len() >= s.Len() {
		body = strs(c)
	}
	if len(title)+len(body) < MinWords {
		return 0, text
	}
	var buf []byte
	for _, ws := range [2][]string{title, body} {
		for _, w := range ws {
			buf = append(append(buf, w...), ' ')
		}
		buf = append(buf, 0)
	}
	sum := sha256.Sum256(buf)
	copy(text[:], sum[:])
	if fp = plainSimhash(title, body); fp == 0 {
		fp = 1
	}
	return fp, text
}

// TestSimhashCounts: the packed counters and the one-pass feature hashes
// give the fingerprint of the plain SimHash loop (fingerprints are stored,
// so they must not change), for texts shorter and longer than the 255
// features a lane byte holds.
func TestSimhashCounts(t *testing.T) {
	words := func(n, seed int) []string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = fmt.Sprintf("w%d", (i*7919+seed)%97) // repeats, so features repeat too
		}
		return ws
	}
	for _, n := range []int{0, 1, 2, 12, 254, 255, 256, 257, 600, 2000} {
		for seed := range 5 {
			title, body := words(seed+1, seed), words(n, seed)
			tw, _, bw := query.ItemWords(&tidings.Item{Title: strings.Join(title, " "), Content: strings.Join(body, " ")})
			if tw.Len() != len(title) || bw.Len() != len(body) {
				t.Fatalf("%d words, seed %d: split into %d and %d words", n, seed, tw.Len(), bw.Len())
			}
			if got, want := simhash(tw.Joined(), bw.Joined()), plainSimhash(title, body); got != want {
				t.Errorf("%d words, seed %d: simhash = %016x, plain SimHash = %016x", n, seed, got, want)
			}
		}
	}
}

// TestAnalyzeGolden: fingerprints and text hashes computed by the release
// that first stored them. Stored values must not change without a schema
// migration, whatever the splitting, folding or hashing code becomes.
func TestAnalyzeGolden(t *testing.T) {
	tests := []struct {
		it   tidings.Item
		fp   uint64
		text string
	}{
		{tidings.Item{Title: "Mexico, Canada cut steel tariffs", Content: steelText},
			0xc859c561a8b91590, "8c9eb12807f9278ce224a5163cad70e7"},
		{tidings.Item{Title: "Sismo", Summary: "<p>Un sismo de magnitud 6,4 &amp; <script>x</script> sacudió Oaxaca, dijo el Servicio Sismológico Nacional el martes por la mañana</p>"},
			0x6878060622f6c44, "8f0273b470ac2891c3b69ffd3b07d15a"},
		{tidings.Item{Title: "Einzelwort", Summary: "kurz", Content: "<p>Straße Łódź ＭＥＸＩＣＯ 東京 では 地震 が あった; Me\u0301xico und México sind gleich, sagt man, oder nicht?</p>"},
			0x248e55d4e3b2c74a, "9c68ffadb237bdc9d47f7d3286d6ffdc"},
		{tidings.Item{Title: "One", Summary: "<p>A summary that has more words than the content does, by far, in this case here</p>", Content: "<p>short content</p>"},
			0x55949489024b6c23, "81938af58765cf8a4f3a004300e4ca52"},
	}
	for _, tt := range tests {
		fp, text := Analyze(&tt.it)
		if fp != tt.fp || fmt.Sprintf("%x", text) != tt.text {
			t.Errorf("Analyze(%q) = %#x, %x; stored values are %#x, %s", tt.it.Title, fp, text, tt.fp, tt.text)
		}
	}
}

// BenchmarkAnalyze: fingerprint and text hash of a wire story, which
// SavePoll computes for every new item.
func BenchmarkAnalyze(b *testing.B) {
	it := item("Mexico, Canada cut steel tariffs", steelText+" "+quakeText+" "+strikeText)
	for b.Loop() {
		Analyze(it)
	}
}
