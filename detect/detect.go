package detect

import "math"

// MinShare is the share of a column's sampled values that must match a
// recognizer for a finding from values alone; a column whose name hints
// at the kind needs HintedShare.
const (
	MinShare    = 0.8
	HintedShare = 0.3
	// nameOnly is the confidence of a finding from the column's name
	// alone (person names, birth dates, addresses: no value pattern).
	nameOnly = 0.5
)

// Finding is what a column's sample says: the kind, how sure, how many
// values were sampled and matched, and whether the name or the values
// (or both) said so. It never holds a value.
type Finding struct {
	Kind       string
	Confidence float64
	Sampled    int
	Matched    int
	// Method is "values", "name" or "values+name".
	Method string
}

// Column looks at a column's sampled values (NULLs left out) and its
// name and returns the kind it most likely holds; false when nothing
// is found.
func Column(name string, values []string) (Finding, bool) {
	hinted := hint(name)
	var best Finding
	for _, r := range Recognizers {
		matched := 0
		for _, v := range values {
			if r.Match(v) {
				matched++
			}
		}
		if len(values) == 0 || matched == 0 {
			continue
		}
		share := float64(matched) / float64(len(values))
		f := Finding{Kind: r.Kind, Sampled: len(values), Matched: matched, Confidence: share, Method: "values"}
		switch {
		case hinted == r.Kind && share >= HintedShare:
			f.Confidence, f.Method = math.Min(1, share+0.1), "values+name"
		case share < MinShare:
			continue
		}
		if f.Confidence > best.Confidence {
			best = f
		}
	}
	if best.Kind != "" {
		best.Confidence = math.Round(best.Confidence*1000) / 1000
		return best, true
	}
	switch hinted {
	case PersonName, BirthDate, Address:
		return Finding{Kind: hinted, Confidence: nameOnly, Sampled: len(values), Method: "name"}, true
	}
	return Finding{}, false
}
