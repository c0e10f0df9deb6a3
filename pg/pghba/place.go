package pghba

import "strings"

// isKeeper reports whether r must stay ahead of the reject lines: a
// hostgssenc record (GSSAPI-encrypted connections are not SSL, so
// hostnossl matches them), or a hostnossl record that lets connections in
// (an administrator's plaintext exception). A hostnossl record that
// rejects refuses what the reject lines refuse, so shadowing it changes
// nothing.
func isKeeper(r *Record) bool {
	if r == nil {
		return false
	}
	return r.Type == TypeHostGSSEnc || (r.Type == TypeHostNoSSL && r.Method != "reject")
}

// rejectRegion returns the entries between which reject lines do not
// change the meaning of other records: after the last keeper (lo, -1 when
// there is none) and before the first include directive after it (hi,
// len(ps) when there is none). Valid places are lo < i < hi.
func rejectRegion(ps []parsed) (lo, hi int) {
	lo = -1
	for i, p := range ps {
		if isKeeper(p.rec) {
			lo = i
		}
	}
	hi = len(ps)
	for i := lo + 1; i < len(ps); i++ {
		if ps[i].include != nil {
			hi = i
			break
		}
	}
	return lo, hi
}

// block is a run of entries [start, end) that EnforceSSL wrote:
// RejectComment and the reject lines right under it.
type block struct{ start, end int }

// ownBlocks finds the reject lines EnforceSSL wrote, recognised by
// RejectComment directly above them; only those may be moved.
func ownBlocks(ps []parsed) []block {
	var out []block
	for i := 0; i < len(ps); i++ {
		e := ps[i].e
		if len(e.fields) > 0 || e.count != 1 || strings.TrimSpace(e.logical) != RejectComment {
			continue
		}
		j := i + 1
		for j < len(ps) && ps[j].rec != nil && ps[j].e.count == 1 && isCoveringReject(ps[j].rec) {
			j++
		}
		if j > i+1 {
			out = append(out, block{i, j})
			i = j - 1
		}
	}
	return out
}

func isCoveringReject(r *Record) bool {
	r4, r6 := rejectCovers(r)
	return r4 || r6
}

// rejectPlan is how EnforceSSL changes the reject lines: physical lines
// to drop (its own lines in an invalid place) and lines to insert before
// physical line at (len of the file: at the end).
type rejectPlan struct {
	drop   map[int]bool
	at     int
	insert []physical
}

// planRejects decides what EnforceSSL does about reject lines; see
// EnforceSSL for the rule. Moved lines keep their text (without "\r" or a
// trailing backslash: they get the file's line end); the comment is
// written again unless one is left elsewhere in the file.
func planRejects(ps []parsed, ph []physical, omitNew bool, nl string) rejectPlan {
	lo, hi := rejectRegion(ps)
	pl := rejectPlan{drop: map[int]bool{}}
	var moved []parsed
	for _, b := range ownBlocks(ps) {
		if b.start > lo && b.end <= hi {
			continue
		}
		for i := b.start; i < b.end; i++ {
			pl.drop[ps[i].e.first] = true
			if ps[i].rec != nil {
				moved = append(moved, ps[i])
			}
		}
	}
	var v4, v6 bool
	for i := lo + 1; i < hi; i++ {
		if ps[i].rec != nil {
			r4, r6 := rejectCovers(ps[i].rec)
			v4, v6 = v4 || r4, v6 || r6
		}
	}
	var lines []physical
	for _, p := range moved {
		if r4, r6 := rejectCovers(p.rec); (r4 && !v4) || (r6 && !v6) {
			lines = append(lines, physical{p.e.logical, nl})
			v4, v6 = v4 || r4, v6 || r6
		}
	}
	if !omitNew {
		cols := columnsFor(ps, ph)
		if !v4 {
			lines = append(lines, physical{layout(cols, TypeHostNoSSL, "all", "all", "0.0.0.0/0", "reject"), nl})
		}
		if !v6 {
			lines = append(lines, physical{layout(cols, TypeHostNoSSL, "all", "all", "::/0", "reject"), nl})
		}
	}
	if len(lines) == 0 {
		return pl
	}
	if !hasLine(ph, RejectComment, pl.drop) {
		lines = append([]physical{{RejectComment, nl}}, lines...)
	}
	pl.insert = lines
	pl.at = aboveComments(ph, insertionPoint(ps, lo, len(ph)))
	return pl
}

// insertionPoint is the physical line before the first TCP record (other
// than an equivalent reject line) or include directive after entry lo;
// len(ph) when there is none.
func insertionPoint(ps []parsed, lo, end int) int {
	for _, p := range ps[lo+1:] {
		if p.include != nil {
			return p.e.first
		}
		if p.rec != nil && p.rec.IsTCP() && !isCoveringReject(p.rec) {
			return p.e.first
		}
	}
	return end
}

// apply returns the physical lines with the plan carried out. Lines
// emptied by rewriteType (a type word split by a continuation) are left
// out so they cannot end up carrying a newline.
func (pl rejectPlan) apply(ph []physical, nl string) []physical {
	out := make([]physical, 0, len(ph)+len(pl.insert))
	emit := func() {
		if n := len(out); n > 0 {
			if out[n-1].eol == "" {
				out[n-1].eol = nl
			}
			if strings.HasSuffix(strings.TrimSuffix(out[n-1].text, "\r"), `\`) {
				// The line before would continue into ours: an empty line
				// ends the continuation first.
				out = append(out, physical{"", nl})
			}
		}
		out = append(out, pl.insert...)
	}
	for i, l := range ph {
		if i == pl.at && len(pl.insert) > 0 {
			emit()
		}
		if !pl.drop[i] && l != (physical{}) {
			out = append(out, l)
		}
	}
	if pl.at >= len(ph) && len(pl.insert) > 0 {
		emit()
	}
	return out
}

// hasLine reports whether a physical line other than the dropped ones
// reads text (surrounding blanks ignored).
func hasLine(ph []physical, text string, drop map[int]bool) bool {
	for i, l := range ph {
		if !drop[i] && strings.TrimSpace(l.text) == text {
			return true
		}
	}
	return false
}
