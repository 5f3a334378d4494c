package analytics

// The sentiment lexicon: callrec's own word list in the style of AFINN
// (integer valence from −5, very negative, to +5, very positive), written
// for phone conversations about orders, services, deliveries and news. It
// is not a copy of any published lexicon. Words are lower case; inflected
// forms are listed where they are common in speech.

// phraseValences are multi-word entries, matched before single words
// (longest first); their words are not scored again, and a negator before
// them does not flip them (they carry their own polarity).
func phraseValences() []struct {
	words phrase
	score float64
} {
	list := []struct {
		text  string
		score float64
	}{
		{"thank you", 2}, {"thanks a lot", 3}, {"thank you very much", 3}, {"thank you so much", 3},
		{"well done", 3}, {"good job", 3}, {"great job", 4}, {"no worries", 1},
		{"works well", 2}, {"work well", 2}, {"working well", 2}, {"works fine", 2},
		{"on time", 1}, {"in stock", 1}, {"good news", 3}, {"bad news", -2},
		{"does not work", -2}, {"do not work", -2}, {"did not work", -2}, {"not working", -2},
		{"stopped working", -2}, {"not true", -2}, {"fed up", -3}, {"let down", -2},
		{"rip off", -3}, {"ripped off", -3}, {"screwed up", -3}, {"messed up", -2},
		{"waste of time", -3}, {"waste of money", -3}, {"out of stock", -1},
		{"got sick", -2}, {"fell apart", -2}, {"falls apart", -2}, {"sick and tired", -3},
		{"still waiting", -2}, {"not happy", -2}, {"not satisfied", -2}, {"not acceptable", -3},
	}
	out := make([]struct {
		words phrase
		score float64
	}, len(list))
	for i, e := range list {
		out[i].words, out[i].score = newPhrase(e.text), e.score
	}
	return out
}

// valence returns the score of a single word.
func valence(w string) (float64, bool) {
	switch w {
	// +5
	case "outstanding", "superb", "thrilled", "ecstatic", "phenomenal", "breathtaking", "overjoyed":
		return 5, true
	// +4
	case "wonderful", "fantastic", "amazing", "excellent", "awesome", "brilliant", "delighted",
		"perfect", "love", "loved", "loves", "loving", "marvelous", "marvellous", "incredible",
		"exceptional", "terrific", "fabulous", "magnificent", "spectacular", "flawless", "wow",
		"excellently":
		return 4, true
	// +3
	case "great", "good", "happy", "glad", "pleased", "beautiful", "lovely", "enjoy", "enjoyed",
		"enjoying", "appreciate", "appreciated", "appreciates", "grateful", "thankful", "impressive",
		"impressed", "nice", "pleasant", "admire", "best", "successful", "success", "recommend",
		"recommended", "helpful", "kind", "generous", "excited", "exciting", "favorite", "favourite",
		"satisfied", "reliable", "congratulations", "congrats", "delightful", "superior", "thrilling",
		"win", "won", "winning", "gorgeous", "charming", "cheerful", "joy", "joyful", "glorious",
		"trustworthy", "remarkable", "splendid", "stellar":
		return 3, true
	// +2
	case "thanks", "thank", "thanked", "liked", "likes", "fine", "fair", "better", "easy",
		"quick", "quickly", "friendly", "polite", "comfortable", "support", "supportive", "help",
		"helped", "helping", "helps", "hope", "hopeful", "hoping", "agree", "agreed", "fixed",
		"resolved", "solved", "clean", "calm", "confident", "effective", "efficient", "gladly",
		"honest", "interested", "interesting", "lucky", "proud", "relief", "relieved", "secure",
		"smart", "smooth", "valuable", "worth", "useful", "welcome", "improve", "improved",
		"improvement", "patient", "patience", "careful", "care", "cares", "caring", "bonus", "fun",
		"cool", "positive", "safe", "healthy", "benefit", "benefits", "progress", "wise", "talented",
		"fresh", "convenient", "accurate", "works", "worked", "reasonable", "pleasure", "promising",
		"respect", "respected", "trust", "trusted", "sweet", "warm", "warmly", "bright":
		return 2, true
	// +1
	case "true", "clear", "clearly", "correct", "ready", "promise",
		"promised", "accept", "accepted", "allow", "allowed", "approve", "approved", "free",
		"solution", "solutions", "fix", "interest", "laugh", "laughing", "certain", "stable",
		"working", "agreeable", "decent", "adequate", "hopefully", "steady", "willing", "available",
		"fast", "simple":
		return 1, true
	// −1
	case "sorry", "doubt", "doubts", "unsure", "unclear", "complicated", "cancel", "cancelled",
		"canceled", "late", "odd", "strange", "tired", "issue", "issues", "slow",
		"slowly", "hard", "busy", "concern", "concerns", "mistaken", "unfortunately", "wobbles",
		"wobbly", "wobble", "expensive", "noisy", "risk",
		"risky", "skeptical", "suspicious", "pity", "hesitant", "uncertain", "unusual", "weird":
		return -1, true
	// −2
	case "problem", "problems", "trouble", "troubles", "difficult", "difficulty", "difficulties",
		"delay", "delayed", "delays", "missing", "lost", "lose", "losing", "mistake", "mistakes",
		"error", "errors", "broken", "broke", "crash", "crashed", "crashes", "crashing",
		"sad", "sadly", "concerned", "confused", "confusing", "afraid", "fear", "scared", "stress",
		"stressed", "stressful", "annoying", "annoyed", "irritating", "irritated", "nervous",
		"painful", "pain", "hurt", "inconvenient", "inconvenience", "unfortunate", "dirty", "damaged",
		"damage", "poor", "poorly", "wrong", "sick", "ill", "worried", "worry", "worrying", "complaint",
		"complaints", "complain", "complained", "complaining", "boring", "bored", "failing",
		"unreliable", "bug", "bugs", "faulty", "defective", "leak", "leaking", "cheap", "overcharged",
		"refuse", "refused", "denied", "reject", "rejected", "dispute", "blame", "blamed", "unable",
		"bad", "badly", "stuck", "weak", "ugly", "unhelpful", "impatient",
		"dangerous", "danger", "harm", "harmful", "warning", "threat", "unpaid", "overdue", "penalty":
		return -2, true
	// −3
	case "terrible", "terribly", "awful", "awfully", "angry", "frustrated", "frustrating",
		"frustration", "disappointed", "disappointing", "disappointment", "upset", "useless",
		"ridiculous", "pathetic", "incompetent", "rude", "unhappy", "miserable", "dreadful", "fail",
		"failed", "failure", "lousy", "shame", "shameful", "shocking", "shocked", "lie", "lied",
		"lies", "lying", "liar", "cheat", "cheated", "cheating", "abuse", "abusive", "worse",
		"unacceptable", "hopeless", "furiously", "mad", "crap", "crappy", "damn", "sucks", "stupid",
		"idiot", "insult", "insulting", "offended", "offensive", "ruined", "ruin", "mess", "chaos",
		"victim", "scandal", "corrupt", "corruption", "negligent", "negligence":
		return -3, true
	// −4
	case "furious", "outrageous", "outraged", "disgusting", "disgusted", "horrible", "horrific",
		"appalling", "atrocious", "catastrophe", "catastrophic", "disaster", "disastrous", "hate",
		"hated", "hates", "hateful", "scam", "scammed", "fraud", "nightmare", "worst", "despise",
		"livid", "terrifying", "terrified", "devastated", "devastating", "betrayed", "betrayal":
		return -4, true
	// −5
	case "fuck", "fucking", "bullshit", "bastard", "bastards", "asshole":
		return -5, true
	}
	return 0, false
}

// negator reports whether w negates the sentiment word after it.
func negator(w string) bool {
	switch w {
	case "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without",
		"hardly", "barely", "nowhere", "cannot":
		return true
	}
	return false
}

// intensity returns the factor by which w changes the sentiment word after
// it: above 1 for a booster ("very"), below 1 for a dampener ("slightly"),
// 0 when w is neither.
func intensity(w string) float64 {
	switch w {
	case "very", "really", "extremely", "so", "totally", "absolutely", "incredibly", "completely",
		"truly", "super", "highly", "especially", "particularly", "deeply", "utterly", "entirely",
		"seriously", "massively", "hugely", "most", "too", "such", "perfectly":
		return 1.5
	case "quite", "pretty", "more", "rather":
		return 1.25
	case "slightly", "somewhat", "bit", "little", "kinda", "marginally", "partly", "mildly",
		"fairly":
		return 0.5
	}
	return 0
}
