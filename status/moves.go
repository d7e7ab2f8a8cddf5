package status

import "github.com/vipctl/vipctl/journal"

// addMoves sets each group's last moves (at most n) from this host's journal.
func (r *Report) addMoves(history func() ([]journal.Event, error), n int) {
	events, err := history()
	if err != nil {
		r.JournalError = err.Error()
		return
	}
	byResource := map[string][]journal.Move{}
	for _, m := range journal.Moves(events, nil) {
		byResource[m.Resource] = append(byResource[m.Resource], m)
	}
	for i := range r.Groups {
		g := &r.Groups[i]
		moves := byResource[g.Resource]
		g.LastMoves = append([]journal.Move{}, moves[max(0, len(moves)-n):]...)
	}
}
