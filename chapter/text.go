package chapter

import (
	"html"
	"regexp"
	"strings"
)

type handle struct{ user, host string }

// mentionRE finds @user and @user@host (host may carry a port, as nodes on
// one machine do in tests and demos), not inside words or e-mail addresses.
var mentionRE = regexp.MustCompile(`(?i)(?:^|[^\w@/.])@([a-z0-9_]{1,30})(?:@([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?))?`)

// urlRE finds links to turn into anchors.
var urlRE = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]'']`)

// parseMentions lists the handles a text mentions, in order, without repeats.
func parseMentions(text string) []handle {
	var hs []handle
	seen := map[handle]bool{}
	for _, m := range mentionRE.FindAllStringSubmatch(text, -1) {
		h := handle{user: strings.ToLower(m[1]), host: strings.ToLower(m[2])}
		if !seen[h] {
			seen[h] = true
			hs = append(hs, h)
		}
	}
	return hs
}

// textToHTML turns plain text into safe HTML paragraphs.
func textToHTML(text string) string {
	return renderText(text, nil, nil, "")
}

// renderText turns a member's plain text into the HTML that federates:
// escaped, paragraphs and line breaks kept, links and the mentions of known
// accounts made into anchors (Mastodon's h-card markup, which clients style).
// nodeHost is this node's host: "@name@nodeHost" names a local account.
func renderText(text string, mentioned []*Account, href func(*Account) string, nodeHost string) string {
	text = strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n")
	if text == "" {
		return ""
	}
	var b strings.Builder
	for _, para := range strings.Split(text, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>")
			}
			b.WriteString(renderLine(line, mentioned, href, nodeHost))
		}
		b.WriteString("</p>")
	}
	return b.String()
}

// renderLine escapes one line and links its URLs and mentions.
func renderLine(line string, mentioned []*Account, href func(*Account) string, nodeHost string) string {
	var spans []span
	for _, loc := range urlRE.FindAllStringIndex(line, -1) {
		u := line[loc[0]:loc[1]]
		spans = append(spans, span{loc[0], loc[1],
			`<a href="` + html.EscapeString(u) + `" rel="nofollow noopener noreferrer" target="_blank">` + html.EscapeString(u) + `</a>`})
	}
	if href != nil {
		for _, loc := range mentionRE.FindAllStringSubmatchIndex(line, -1) {
			user := strings.ToLower(line[loc[2]:loc[3]])
			host := ""
			if loc[4] >= 0 {
				host = strings.ToLower(line[loc[4]:loc[5]])
			}
			if strings.EqualFold(host, nodeHost) {
				host = ""
			}
			a := findMentioned(mentioned, user, host)
			if a == nil || overlaps(spans, loc[2]-1) {
				continue
			}
			start := loc[2] - 1 // the "@"
			spans = append(spans, span{start, loc[1],
				`<span class="h-card"><a href="` + html.EscapeString(href(a)) + `" class="u-url mention">@<span>` +
					html.EscapeString(a.Username) + `</span></a></span>`})
		}
	}
	if len(spans) == 0 {
		return html.EscapeString(line)
	}
	// Spans come from two scans; order them by start.
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].start < spans[j-1].start; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	var b strings.Builder
	pos := 0
	for _, sp := range spans {
		if sp.start < pos {
			continue
		}
		b.WriteString(html.EscapeString(line[pos:sp.start]))
		b.WriteString(sp.html)
		pos = sp.end
	}
	b.WriteString(html.EscapeString(line[pos:]))
	return b.String()
}

// span is a piece of a line replaced by markup.
type span struct {
	start, end int
	html       string
}

func overlaps(spans []span, at int) bool {
	for _, s := range spans {
		if at >= s.start && at < s.end {
			return true
		}
	}
	return false
}

func findMentioned(list []*Account, user, host string) *Account {
	for _, a := range list {
		if !strings.EqualFold(a.Username, user) {
			continue
		}
		if host == "" && a.Local() || host != "" && strings.EqualFold(a.Host, host) {
			return a
		}
	}
	return nil
}
