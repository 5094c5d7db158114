package feeds

import (
	"time"

	"github.com/tidings/tidings/dedupe"
)

// How nearIndex finds the pairs of fingerprints within dedupe.StrictDistance
// (14 of 64 bits) without comparing all pairs.
//
// The textbook pigeonhole split, 15 bands of 4–5 bits that a near pair must
// share one of exactly, is exact but useless here: a band of 4 bits takes
// one of 16 values, so two unrelated fingerprints share one of 15 bands
// with a chance of 1-(15/16)^15 ≈ 62%, and the candidates are most pairs.
// Multi-index hashing (Norouzi, Punjani and Fleet, 2012) trades bands for
// probes instead: with nearBands = 5 bands of 12–13 bits, a pair within 14
// bits differs in at most ⌊14/5⌋ = 2 bits of at least one band (five bands
// of 3 or more would make 15). So each fingerprint looks up, in each band,
// its own band value and the 13 + 78 values within 2 bits of it: 460
// lookups in five direct-address tables of 8,192 slots (160 KB, in cache),
// and an unrelated fingerprint is a candidate with a chance of about
// 5 × 92/8192 ≈ 6%, not 62%. Every candidate is then checked with
// dedupe.Near, so the search finds exactly the pairs all-pairs would.
// Fewer, wider bands need many more probes (4 bands of 16 bits: 2,788 per
// fingerprint); more, narrower ones many more candidates.
//
// What stays quadratic is a crowd of near-identical fingerprints: they all
// share most buckets they probe. Hence two caps: a fingerprint stops
// searching once it has found nearFoundCap near ones, and in each bucket
// probed only the nearBucketCap newest entries within the horizon are
// compared. Such a crowd is one story already (each member is near the
// newest ones), so the caps only miss a pair when its newer item has
// nearFoundCap near ones before the other (then it is very likely of their
// story already, and so is the other if it is near them), or when more
// than nearBucketCap other entries of one band value were published
// between the two (a crowd again).
const (
	nearBands     = 5  // add probes up to 2 bits per band: right while dedupe.StrictDistance < 3×nearBands
	nearBandBits  = 13 // the widest band: 64 = 4×13 + 12
	nearBucketCap = 16
	nearFoundCap  = 16
)

// nearIndex finds near pairs among fingerprints offered oldest first, each
// with its published time: for every new one, the earlier ones within
// horizon whose fingerprints are within dedupe.StrictDistance. Its tables
// are kept between uses, since a Selector groups its items several times.
type nearIndex struct {
	heads []int32 // per band and band value: the newest entry, or -1
	next  []int32 // per band and entry: the next older entry in its bucket, or -1
	fps   []uint64
	times []time.Time
	seen  []int32 // per entry: the last entry that compared with it
	// scanned counts bucket entries looked at, for benchmarks: the work
	// that all-pairs spends on every pair in the window.
	scanned int
}

// reset empties the index for n entries.
func (x *nearIndex) reset(n int) {
	if x.heads == nil {
		x.heads = make([]int32, nearBands<<nearBandBits)
	}
	for i := range x.heads {
		x.heads[i] = -1
	}
	x.next = resize(x.next, nearBands*n)
	x.seen = resize(x.seen, n)
	for i := range x.seen {
		x.seen[i] = -1
	}
	x.fps = x.fps[:0]
	x.times = x.times[:0]
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// band returns band b of fp and its width in bits.
func band(fp uint64, b int) (value uint32, width int) {
	lo, hi := 64*b/nearBands, 64*(b+1)/nearBands
	return uint32(fp >> lo & (1<<(hi-lo) - 1)), hi - lo
}

// add enters the next fingerprint, published at t (not before any entered
// so far), and calls near with the index of every earlier entry published
// within horizon before t whose fingerprint is within dedupe.StrictDistance
// of fp (each at most once; at most nearFoundCap of them, see nearBucketCap
// too). Entries are numbered from 0 in the order added.
func (x *nearIndex) add(fp uint64, t time.Time, horizon time.Duration, near func(j int)) {
	i := int32(len(x.fps))
	x.fps = append(x.fps, fp)
	x.times = append(x.times, t)
	start := t.Add(-horizon)
	n := int32(len(x.seen))
	found := 0
	defer func() {
		// Inserted even when the search stops early.
		for b := range nearBands {
			v, _ := band(fp, b)
			slot := b<<nearBandBits | int(v)
			x.next[int32(b)*n+i] = x.heads[slot]
			x.heads[slot] = i
		}
	}()
	for b := range nearBands {
		v, w := band(fp, b)
		base := b << nearBandBits
		next := x.next[int32(b)*n:]
		// Probe v and every value 1 and 2 bits off it: p < q are the
		// bits flipped, a bit of w or more meaning none (p = w, q = w+1
		// for v itself; q = w for one bit).
		for p := 0; p <= w; p++ {
			for q := p + 1; q <= w+1; q++ {
				if q == w+1 && p < w {
					continue
				}
				u := v
				if p < w {
					u ^= 1 << p
				}
				if q < w {
					u ^= 1 << q
				}
				scanned := 0
				for j := x.heads[base|int(u)]; j >= 0 && scanned < nearBucketCap; j = next[j] {
					if x.times[j].Before(start) {
						break // buckets go newest first: the rest are older still
					}
					scanned++
					x.scanned++
					if x.seen[j] == i {
						continue
					}
					x.seen[j] = i
					if dedupe.Near(fp, x.fps[j], dedupe.StrictDistance) {
						near(int(j))
						if found++; found == nearFoundCap {
							return
						}
					}
				}
			}
		}
	}
}
