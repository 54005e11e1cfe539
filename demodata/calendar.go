package demodata

import (
	"math"
	"time"
)

// The story the demo data tells over its 30 days (see doc.go): busier
// weekends and New Year's Day, a series launched on a Friday that takes a
// third of that day's plays and fades over the following weeks, and a
// slowly shrinking audience as accounts cancel.
const (
	// launchTitle is the title_id of the series launched during the month.
	launchTitle = 7
	// launchDay is the 0-based day of its launch: Friday 2025-01-17.
	launchDay = 16
	// launchBoost is the launch title's extra plays on launch day, as a
	// share of an ordinary day's; it decays by launchDecay every day.
	launchBoost = 0.5
	launchDecay = 0.78
	// audienceDecline is how much smaller the audience gets every day as
	// accounts churn.
	audienceDecline = 0.004
)

// dayDate is the calendar date of day d (0-based from 2025-01-01).
func dayDate(d int) time.Time {
	return time.Unix(dataStart+int64(d)*secondsPerDay, 0).UTC()
}

// isWeekend reports whether day d is a Saturday or a Sunday.
func isWeekend(d int) bool {
	wd := dayDate(d).Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// launchExtra is the launch title's plays on day d as a share of an
// ordinary day's plays: zero before the launch.
func launchExtra(d int) float64 {
	if d < launchDay {
		return 0
	}
	return launchBoost * math.Pow(launchDecay, float64(d-launchDay))
}

// dayWeight is how busy day d is compared with an ordinary weekday at the
// start of the month.
func dayWeight(d int, withLaunch bool) float64 {
	w := 1.0
	switch dayDate(d).Weekday() {
	case time.Friday:
		w = 1.15
	case time.Saturday:
		w = 1.4
	case time.Sunday:
		w = 1.3
	}
	if d == 0 {
		w = 1.45 // New Year's Day
	}
	w *= 1 - audienceDecline*float64(d)
	if withLaunch {
		w += launchExtra(d)
	}
	return w
}

// dayStarts splits total rows (ids 1 ... total) into dataDays contiguous
// ranges whose sizes follow dayWeight: day d holds ids
// [starts[d], starts[d+1]). The rounding is of cumulative sums, so the ranges
// always cover every row exactly once.
func dayStarts(total int64, withLaunch bool) []int64 {
	cum := make([]float64, dataDays+1)
	for d := range dataDays {
		cum[d+1] = cum[d] + dayWeight(d, withLaunch)
	}
	starts := make([]int64, dataDays+1)
	for d := range starts {
		starts[d] = 1 + int64(math.Round(float64(total)*cum[d]/cum[dataDays]))
	}
	return starts
}
