package demodata

// The vocabularies below are what makes the demo data read like a streaming
// service's. Changing any of them changes the generated rows.

// titleAdjectives × titleNouns × 3 forms must be at least titleSpace.
var titleAdjectives = []string{
	"Silent", "Crimson", "Hidden", "Last", "Broken", "Golden", "Midnight", "Distant",
	"Frozen", "Burning", "Lost", "Secret", "Wild", "Electric", "Hollow", "Quiet",
	"Savage", "Velvet", "Iron", "Paper", "Glass", "Northern", "Forgotten", "Endless",
	"Scarlet", "Shattered", "Brave", "Restless", "Wandering", "Bitter", "Sweet", "Dark",
	"Bright", "Lonely", "Final", "Eternal", "Fading", "Rising", "Sunken", "Wicked",
	"Amber", "Ancient", "Blue", "Cold", "Copper", "Crooked", "Dancing", "Deep",
	"Dusty", "Emerald", "Falling", "Fearless", "Fierce", "Gentle", "Ghost", "Grand",
	"Gray", "Green", "Haunted", "Heavy", "Honest", "Infinite", "Invisible", "Jade",
	"Little", "Lucky", "Marble", "Mighty", "Neon", "Open", "Pale", "Perfect",
	"Purple", "Red", "Royal", "Rusty", "Sacred", "Shining", "Southern", "Stolen",
	"Strange", "Tender", "Twisted", "Violet",
}

var titleNouns = []string{
	"Harbor", "Horizon", "Kingdom", "River", "Empire", "Garden", "Signal", "Frontier",
	"Protocol", "Mirror", "Orchard", "Station", "Lighthouse", "Detective", "Summer", "Winter",
	"Island", "Machine", "Letter", "Storm", "Circus", "Valley", "Carnival", "Archive",
	"Promise", "Voyage", "Legacy", "Paradox", "Tide", "Crown", "Bridge", "Forest",
	"City", "Road", "Heist", "Witness", "Diary", "Compass", "Desert", "Hotel",
	"Academy", "Alibi", "Anthem", "Atlas", "Ballad", "Canyon", "Castle", "Cathedral",
	"Code", "Comet", "Conspiracy", "Covenant", "Dynasty", "Echo", "Engine", "Experiment",
	"Fortress", "Galaxy", "Gambit", "Glacier", "Guardian", "Highway", "Hunter", "Inheritance",
	"Journey", "Labyrinth", "Lagoon", "Lantern", "Manor", "Meadow", "Monument", "Mountain",
	"Ocean", "Outpost", "Parade", "Pilgrim", "Prophecy", "Quarry", "Railway", "Reunion",
	"Rebellion", "Sanctuary", "Summit", "Serpent", "Shore", "Symphony", "Tower", "Village",
	"Voice", "Wolf",
}

// titleEndings finish the third name form: "Silent Harbor Returns".
var titleEndings = []string{
	"of Avalon", "of the North", "of Tomorrow", "of Shadows", "of the Deep",
	"of Fortune", "of Ash", "of Gold", "in the Rain", "at Dawn",
	"Returns", "Rising", "Reborn", "Forever", "Unbound",
}

var genres = []choice{
	{"Drama", 18}, {"Comedy", 16}, {"Action", 12}, {"Thriller", 11}, {"Documentary", 9},
	{"Sci-Fi", 8}, {"Romance", 8}, {"Animation", 7}, {"Horror", 6}, {"Crime", 5},
}

// Prices in cents: movies are rented, most series come with the plan.
var (
	moviePriceCents   = []int64{399, 499, 599, 799, 999, 1499, 1999}
	moviePriceWeights = []int{15, 25, 20, 15, 12, 8, 5}
	seriesPriceCents  = []int64{0, 199, 299}
	seriesPriceWeight = []int{60, 20, 20}
)

var firstNames = []string{
	"Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Mateo",
	"Sofia", "Leon", "Hannah", "Arjun", "Yuki", "Chloe", "Gabriel", "Ines",
	"Priya", "Hugo", "Amelia", "Diego", "Zoe", "Kenji", "Lena", "Oliver",
	"Camila", "Finn", "Aisha", "Jack", "Maya", "Rafael", "Sara", "Tom",
	"Elena", "Ravi", "Julia", "Sam", "Nora", "Pedro", "Grace", "Max",
}

var countries = []choice{
	{"US", 30}, {"GB", 10}, {"DE", 9}, {"FR", 8}, {"BR", 8}, {"IN", 8},
	{"CA", 6}, {"JP", 5}, {"MX", 5}, {"ES", 4}, {"AU", 4}, {"NL", 3},
}

var plans = []choice{{"basic", 35}, {"standard", 45}, {"premium", 20}}

var devices = []choice{{"tv", 40}, {"mobile", 25}, {"web", 15}, {"tablet", 12}, {"console", 8}}

// hourWeights is the share (in percent) of activity starting in each hour of
// the day (UTC) on a weekday: quiet nights, a lunch bump, a peak from 18:00
// to 22:00. weekendHourWeights has later mornings, busy afternoons and later
// nights.
var (
	hourWeights = []int{
		3, 2, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3,
		4, 4, 4, 4, 5, 6, 8, 10, 11, 10, 7, 3,
	}
	weekendHourWeights = []int{
		4, 3, 2, 1, 1, 1, 1, 1, 2, 3, 4, 5,
		6, 6, 6, 6, 6, 6, 7, 8, 8, 7, 5, 1,
	}
)

// Devices by time of day: the television in the evening, phones and laptops
// during the day, phones at night.
var (
	eveningDevices = []choice{{"tv", 55}, {"mobile", 13}, {"web", 8}, {"tablet", 12}, {"console", 12}}
	daytimeDevices = []choice{{"tv", 18}, {"mobile", 40}, {"web", 27}, {"tablet", 10}, {"console", 5}}
	nightDevices   = []choice{{"tv", 22}, {"mobile", 52}, {"web", 11}, {"tablet", 10}, {"console", 5}}
)

// deviceHabit is how plays on one device go: the percentage watched to the
// end, and the length of a long session (minimum and spread, in seconds).
type deviceHabit struct {
	device            string
	completedPercent  int64
	longMin, longSpan int64
}

var deviceHabits = []deviceHabit{
	{"tv", 58, 1800, 6000},
	{"console", 50, 1500, 5400},
	{"web", 38, 900, 4800},
	{"tablet", 34, 900, 3600},
	{"mobile", 22, 600, 2400},
}

// genreTastes lists, per country, the genres its viewers watch several
// times more often than elsewhere; the boost multiplies the genre's weight.
var genreTastes = map[string]map[string]int{
	"US": {"Action": 3, "Comedy": 2},
	"GB": {"Crime": 4, "Documentary": 2},
	"DE": {"Documentary": 3, "Thriller": 2},
	"FR": {"Drama": 2, "Romance": 3},
	"BR": {"Romance": 3, "Comedy": 2},
	"IN": {"Drama": 2, "Romance": 3, "Action": 2},
	"CA": {"Comedy": 3},
	"JP": {"Animation": 6},
	"MX": {"Horror": 4, "Comedy": 2},
	"ES": {"Thriller": 3, "Crime": 2},
	"AU": {"Sci-Fi": 4},
	"NL": {"Documentary": 4},
}

// englishSpeaking countries watch the launch title at full strength; the
// others at half.
var englishSpeaking = []string{"US", "GB", "CA", "AU"}

// churnPercent is the share of accounts on each plan that cancel during the
// month: basic accounts leave most.
var churnPercent = map[string]int64{"basic": 24, "standard": 9, "premium": 4}

var eventNames = []choice{
	{"page_view", 35}, {"play_start", 18}, {"play_stop", 15}, {"search", 12},
	{"add_to_list", 7}, {"login", 6}, {"rate_title", 5}, {"signup", 2},
}

var (
	pages         = []string{"/home", "/browse", "/browse/new", "/search", "/my-list", "/account", "/kids", "/title"}
	referrers     = []string{"home", "search", "row_trending", "row_continue", "notification", "email", "deep_link"}
	searchQueries = []string{"silent", "harbor", "comedy", "kids", "documentary", "space", "crime", "love", "horror", "anime", "christmas", "detective"}
	qualities     = []string{"SD", "HD", "HD", "UHD"}
	loginMethods  = []string{"password", "password", "sso", "qr_code", "magic_link"}
)
