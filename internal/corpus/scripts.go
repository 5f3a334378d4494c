package corpus

import "time"

// Scripts returns the built-in conversations. Each is about a minute of
// phone talk with sentiment both ways, an issue, action items, two silences
// of 3 s or more of different lengths and two overlaps (the owner
// interrupts once and the other party interrupts once).
//
// The voices are flite's rms and awb: PocketSphinx recognises them far
// better than slt (see DESIGN.md), so the same corpus serves the engine's
// tests.
func Scripts() []Script {
	return []Script{
		{
			Name:   "furniture-complaint",
			Voices: [2]string{"rms", "awb"},
			Lines: []Line{
				{Agent, "Good morning, Oakwood Furniture, this is Sam speaking. How can I help you?", 0},
				{Customer, "Hi Sam. I have a problem with my order. The table arrived yesterday and one of the legs is broken.", ms(600)},
				{Agent, "Oh no, I am really sorry to hear that. That is not good at all.", ms(500)},
				{Customer, "I am quite frustrated, to be honest. I paid a lot of money, and it does not work as a table if it wobbles like this.", ms(400)},
				{Agent, "I completely understand, and we will fix it for you.", ms(-1200)},
				{Customer, "Okay. What can you do?", ms(500)},
				{Agent, "Let me check the stock in our system. Please hold on for a moment.", ms(500)},
				{Agent, "Thank you for waiting. Good news, we have a replacement leg in stock.", ms(4500)},
				{Customer, "That is great, thank you.", ms(600)},
				{Agent, "I will send you the new leg by courier tomorrow, and I will email you the tracking number tonight.", ms(500)},
				{Customer, "Wait, tomorrow I am not at home. Could you send it on Friday instead?", ms(-1000)},
				{Agent, "Of course, Friday works. I will change the delivery date.", ms(500)},
				{Customer, "Let me look at my calendar.", ms(700)},
				{Customer, "Yes, Friday morning is perfect.", ms(3200)},
				{Agent, "Wonderful. If anything else is wrong, please call me back on this number.", ms(500)},
				{Customer, "I will. Thank you so much for your help, Sam. I really appreciate it.", ms(500)},
				{Agent, "You are welcome. Have a lovely day.", ms(400)},
			},
		},
		{
			Name:   "press-inquiry",
			Voices: [2]string{"awb", "rms"},
			Lines: []Line{
				{Agent, "Hello, this is Alex Morgan from the City Herald. Do you have a few minutes to talk about the water plant?", 0},
				{Customer, "Yes, I can give you five minutes. What would you like to know?", ms(600)},
				{Agent, "Residents told me the tap water smells bad, and they are worried. Is there a problem with the new filters?", ms(500)},
				{Customer, "No, there is no problem with the filters. The water is perfectly safe, and the plant works very well.", ms(700)},
				{Agent, "But three families got sick last week.", ms(-1000)},
				{Customer, "I am sorry, but that is simply not true. Our tests were all clean.", ms(400)},
				{Agent, "Can you send me the test results?", ms(600)},
				{Customer, "Let me ask our lab manager.", ms(500)},
				{Customer, "Okay, she says I can share the summary. I will send you the report this afternoon.", ms(5500)},
				{Agent, "Thank you, that is very helpful.", ms(500)},
				{Agent, "One more question. The valve on Main Street is broken, and it does not work since Monday. When will it be repaired?", ms(3600)},
				{Customer, "That valve is not ours, it belongs to the city.", ms(-1300)},
				{Agent, "I see. Then I will call the city office tomorrow.", ms(500)},
				{Customer, "Good idea. Please call me back if you need anything else.", ms(500)},
				{Agent, "I will. Thanks again, I appreciate your time.", ms(400)},
				{Customer, "You are welcome. Goodbye.", ms(400)},
			},
		},
	}
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// Long returns a conversation of minLines lines made by repeating the
// built-in scripts one after another (with the voices of the first), for
// benchmarks that need a long call. A line takes about 4.6 s of the call, so
// Long("ten-minutes", 131) renders to about 10 minutes.
func Long(name string, minLines int) Script {
	base := Scripts()
	s := Script{Name: name, Voices: base[0].Voices}
	for i := 0; len(s.Lines) < minLines; i++ {
		for k, l := range base[i%len(base)].Lines {
			if len(s.Lines) == minLines {
				break
			}
			if k == 0 && len(s.Lines) > 0 {
				l.Gap = 2 * time.Second
			}
			s.Lines = append(s.Lines, l)
		}
	}
	return s
}
